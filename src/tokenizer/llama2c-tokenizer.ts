import { ByteReader } from '../formats/byte-reader.js';
import type { Tokenizer } from './tokenizer.js';

const BOS = 1;
const EOS = 2;
/** llama2.c reserves ids 0..2 for `<unk>`, BOS and EOS. */
const N_CONTROL = 3;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Bytes as a latin1 string, one char per byte (pieces are a few bytes long). */
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/** One merge candidate: the pair starting at symbol `left`, valid while both symbols keep their lengths. */
interface Candidate {
  score: number;
  left: number;
  right: number;
  bytes: number;
}

/**
 * The tokenizer of karpathy/llama2.c (`tokenizer.bin`): encodes exactly as run.c's `encode()` (BOS, a
 * dummy-prefix " ", one token per UTF-8 code point or `<0xXX>` bytes, then repeatedly merge the adjacent
 * pair with the highest-scoring vocab piece, leftmost on ties) and decodes as run.c's `decode()`.
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = BOS;
  /** run.c stops on BOS (a new story starts); models trained with EOS end there. */
  readonly eosIds: readonly number[] = [EOS, BOS];
  /** Piece bytes as a latin1 string (one char per byte), so lookups work on raw byte concatenations. */
  private readonly keys: string[];
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly pieceBytes: readonly Uint8Array[],
    private readonly scores: Float32Array,
  ) {
    this.keys = pieceBytes.map(latin1);
    // run.c finds pieces by bsearch over the sorted vocab; with duplicates the first id is kept here.
    this.keys.forEach((k, id) => {
      if (!this.ids.has(k)) this.ids.set(k, id);
    });
  }

  get vocabSize(): number {
    return this.keys.length;
  }

  encode(text: string, opts: { addBos?: boolean } = {}): number[] {
    const bytes = utf8Encoder.encode(text);
    const symbols: number[] = [];
    if (text.length > 0) {
      const space = this.ids.get(' ');
      if (space !== undefined) symbols.push(space);
    }
    // Group each lead byte with up to 3 continuation bytes, as run.c does.
    for (let i = 0; i < bytes.length; ) {
      let end = i + 1;
      while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80 && end - i < 4) end++;
      const id = this.ids.get(latin1(bytes.subarray(i, end)));
      if (id !== undefined) symbols.push(id);
      else for (let j = i; j < end; j++) symbols.push(bytes[j]! + N_CONTROL);
      i = end;
    }
    const ids = this.merge(symbols);
    return opts.addBos === false ? ids : [BOS, ...ids];
  }

  /**
   * run.c's merge loop (best score first, leftmost on ties) with a heap over a linked list of symbols
   * instead of rescanning, so long texts stay O(n log n); the tests compare it with the plain loop.
   */
  private merge(start: number[]): number[] {
    const n = start.length;
    const key = start.map((id) => this.keys[id]!);
    const tok = start.slice();
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const alive = new Array<boolean>(n).fill(true);
    const heap = new CandidateHeap();
    const consider = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const id = this.ids.get(key[left]! + key[right]!);
      // run.c's best score starts at -1e10, so pieces scored at or below it never merge.
      if (id === undefined || !(this.scores[id]! > -1e10)) return;
      heap.push({ score: this.scores[id]!, left, right, bytes: key[left]!.length + key[right]!.length });
    };
    for (let i = 0; i + 1 < n; i++) consider(i, i + 1);
    for (let c = heap.pop(); c; c = heap.pop()) {
      const { left, right } = c;
      if (!alive[left] || !alive[right] || next[left] !== right || key[left]!.length + key[right]!.length !== c.bytes) continue;
      key[left] = key[left]! + key[right]!;
      tok[left] = this.ids.get(key[left]!)!;
      alive[right] = false;
      next[left] = next[right]!;
      if (next[left]! >= 0) prev[next[left]!] = left;
      consider(prev[left]!, left);
      consider(left, next[left]!);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]!) out.push(tok[i]!);
    return out;
  }

  decode(ids: readonly number[], opts: { keepSpecial?: boolean } = {}): string {
    const parts: Uint8Array[] = [];
    let prevId = -1;
    for (const id of ids) {
      const bytes = this.surfaceBytes(id, prevId);
      prevId = id;
      if (bytes && (opts.keepSpecial || !this.isSpecial(id))) parts.push(bytes);
    }
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
    return utf8.decode(joined);
  }

  piece(id: number): string {
    const bytes = this.surfaceBytes(id, -1);
    return bytes ? utf8.decode(bytes) : '';
  }

  isSpecial(id: number): boolean {
    return id >= 0 && id < N_CONTROL;
  }

  /** run.c's decode(): drop a leading space right after BOS, `<0xXX>` pieces are raw bytes. */
  private surfaceBytes(id: number, prevId: number): Uint8Array | undefined {
    const bytes = this.pieceBytes[id];
    if (!bytes) return undefined;
    const m = BYTE_PIECE.exec(this.keys[id]!);
    if (m) return Uint8Array.of(parseInt(m[1]!, 16));
    return prevId === BOS && bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
  }
}

/** Max-heap on score, then min on position (run.c takes the first best pair). */
class CandidateHeap {
  private readonly items: Candidate[] = [];

  push(c: Candidate): void {
    const a = this.items;
    a.push(c);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Candidate | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: Candidate, y: Candidate): boolean {
  return x.score > y.score || (x.score === y.score && x.left < y.left);
}

/**
 * Parses a llama2.c `tokenizer.bin`: int32 max_token_length, then per token float32 score, int32 byte
 * length, bytes. The file does not store the vocab size: with `vocabSize` exactly that many entries are
 * read (as run.c does), otherwise entries are read to the end of the file.
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, file: string, vocabSize?: number): Llama2cTokenizer {
  const r = new ByteReader(bytes, file);
  const maxLen = r.i32('max_token_length');
  if (maxLen <= 0) r.fail(`max_token_length ${maxLen} must be positive`);
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  while (vocabSize === undefined ? r.remaining > 0 : pieces.length < vocabSize) {
    const i = pieces.length;
    const score = r.f32(`score of token ${i}`);
    const len = r.i32(`length of token ${i}`);
    if (len < 0 || len > maxLen) r.fail(`token ${i} has length ${len} (max_token_length is ${maxLen})`);
    scores.push(score);
    pieces.push(r.take(len, `bytes of token ${i}`));
  }
  if (pieces.length <= N_CONTROL) r.fail(`only ${pieces.length} tokens; a llama2.c vocabulary has <unk>, BOS, EOS and more`);
  return new Llama2cTokenizer(pieces, Float32Array.from(scores));
}
