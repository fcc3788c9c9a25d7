import { ByteReader } from '../formats/byte-reader.js';
import { describeValue } from '../formats/describe-value.js';
import { FormatError } from '../formats/format-error.js';
import { heapStorage, type CacheStorage } from './cache-storage.js';
import { HeadCache } from './head-cache.js';
import { KVCache, type KVCacheShape } from './kv-cache.js';
import { QuantizedHeadCache, type KiviHeadState, type KvQuantOptions } from './quantized-head-cache.js';

/**
 * kvtrim's KV cache file, version 1 (docs/prefix-file-format.md), all numbers little-endian:
 *
 *   magic    8 bytes "kvtrimKV"
 *   version  u32 (1)
 *   header   u32 byte length, then that many bytes of UTF-8 JSON (fingerprint, shape, seen, press,
 *            ratio, one entry per head: storage, length, counters, whether attention sums follow)
 *   tokens   i32 × seen
 *   heads    layer by layer, KV head by KV head: positions i32 × length, then
 *            float32: keys f32 × length·headDim, values f32 × length·headDim, [attention sums f32 × length]
 *            kivi:    [attention sums f32 × length], key codes, key min and scale, key tail,
 *                     value codes, value min and scale, value tail (sizes: QuantizedHeadCache.stateSizes)
 *
 * Nothing may follow the last head. KIVI heads are stored as their quantised state, not decoded, so
 * a loaded cache continues (appends, re-quantises) exactly as the saved one would have.
 */
export const CACHE_FILE_MAGIC = 'kvtrimKV';
export const CACHE_FILE_VERSION = 1;
/** Largest JSON header read: a model of 128 layers × 64 KV heads needs under 1 MiB. */
export const MAX_CACHE_HEADER_BYTES = 16 * 2 ** 20;

/**
 * Largest KIVI residual R (and group) read: every head allocates its float32 tails of R entries
 * whatever its length, so R is bounded, not the bytes present. KIVI uses R of 32 to 128 (kvtrim's
 * default 128).
 */
export const MAX_KIVI_RESIDUAL = 1024;

/** What a cache file says about the cache besides its entries. */
export interface CacheFileMeta {
  /** The model the cache was computed with (see server/model-fingerprint.ts). */
  fingerprint: string;
  /** The press that compressed it, if any, and its ratio. */
  press: string | null;
  ratio: number;
}

/** What the reader requires of a file: the model it must come from. */
export interface CacheFileExpect {
  fingerprint: string;
  shape: KVCacheShape;
  /** Token ids must be below it. */
  vocabSize: number;
  /** Where float32 heads keep their buffers (the model's backend storage; default the JS heap). */
  storage?: CacheStorage;
}

/** A cache file computed with another model (or the same model in another dtype): its entries mean nothing here. */
export class ForeignCacheError extends FormatError {
  constructor(
    file: string,
    readonly found: string,
    readonly expected: string,
  ) {
    super(file, `was computed with another model (fingerprint ${found}, this model is ${expected})`);
  }
}

type HeadEntry =
  | { storage: 'float32'; length: number; attentionSums: boolean }
  | ({ storage: 'kivi'; length: number; keyBlocks: number; keyTail: number; valueTail: number; attentionSums: boolean } & KvQuantOptions);

interface Header extends CacheFileMeta {
  shape: KVCacheShape;
  seen: number;
  heads: HeadEntry[];
}

/**
 * The largest file a cache of at most `kvBytes` (KVCache.bytes) covering at most `seen` positions
 * can be: the fixed part, the largest header, the tokens and the heads, whose bytes are their
 * `kvBytes` plus attention sums of 4 bytes per entry (an entry holds at least its 4-byte position, so
 * at most as much again).
 */
export function largestCacheFile(kvBytes: number, seen: number): number {
  return 16 + MAX_CACHE_HEADER_BYTES + 4 * seen + 2 * kvBytes;
}

/** The cache and `meta` as one file's bytes. */
export function encodeCacheFile(cache: KVCache, meta: CacheFileMeta): Uint8Array {
  const heads: HeadEntry[] = [];
  const arrays: ArrayBufferView[] = [Int32Array.from(cache.tokens)];
  if (cache.tokens.length !== cache.seen) throw new RangeError(`cache records ${cache.tokens.length} tokens for ${cache.seen} positions`);
  for (const layer of cache.heads)
    for (const h of layer) {
      const n = h.length;
      const d = cache.shape.headDim;
      if (h instanceof QuantizedHeadCache) {
        const s = h.state();
        heads.push({ storage: 'kivi', ...h.quant, length: n, keyBlocks: s.keyBlocks, keyTail: s.keyTail, valueTail: s.valueTail, attentionSums: s.attentionSums !== null });
        arrays.push(s.positions, ...(s.attentionSums ? [s.attentionSums] : []), s.keyCodes, s.keyMin, s.keyScale, s.keyTailValues, s.valueCodes, s.valueMin, s.valueScale, s.valueTailValues);
      } else {
        heads.push({ storage: 'float32', length: n, attentionSums: h.attentionSums !== null });
        arrays.push(h.positions.subarray(0, n), h.keys.subarray(0, n * d), h.values.subarray(0, n * d), ...(h.attentionSums ? [h.attentionSums.subarray(0, n)] : []));
      }
    }
  const header: Header = { fingerprint: meta.fingerprint, shape: { ...cache.shape }, seen: cache.seen, press: meta.press, ratio: meta.ratio, heads };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const size = 16 + json.length + arrays.reduce((s, a) => s + a.byteLength, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CACHE_FILE_MAGIC), 0);
  view.setUint32(8, CACHE_FILE_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  let pos = 16 + json.length;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), pos);
    pos += a.byteLength;
  }
  return out;
}

/**
 * Reads a cache file for the model `expect` describes. Every length and count is checked against the
 * bytes present before anything is allocated; a malformed file is a FormatError naming what is wrong,
 * a file of another model a ForeignCacheError.
 */
export function decodeCacheFile(bytes: Uint8Array, expect: CacheFileExpect, file = 'KV cache file'): { cache: KVCache; meta: CacheFileMeta } {
  const r = new ByteReader(bytes, file);
  const magic = r.take(8, 'magic');
  if (String.fromCharCode(...magic) !== CACHE_FILE_MAGIC) r.fail(`not a kvtrim KV cache file (magic ${describeValue(String.fromCharCode(...magic))}, expected '${CACHE_FILE_MAGIC}')`);
  const version = r.u32('version');
  if (version !== CACHE_FILE_VERSION) r.fail(`version ${version} is not supported (this kvtrim reads version ${CACHE_FILE_VERSION})`);
  const headerBytes = r.u32('header length');
  if (headerBytes > MAX_CACHE_HEADER_BYTES) r.fail(`header of ${headerBytes} bytes exceeds the limit of ${MAX_CACHE_HEADER_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(r.utf8(headerBytes, 'header'));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    r.fail(`header is not JSON: ${(e as Error).message}`);
  }
  const h = checkHeader(json, expect, file);
  const fail = (problem: string): never => r.fail(problem);

  const tokens = ints(r, h.seen, 'tokens');
  for (let i = 0; i < tokens.length; i++)
    if (!(tokens[i]! >= 0 && tokens[i]! < expect.vocabSize)) fail(`token ${i} is ${tokens[i]}, outside the vocabulary of ${expect.vocabSize}`);

  const { nLayers, nKvHeads, headDim: d } = h.shape;
  const heads: HeadCache[][] = [];
  for (let l = 0; l < nLayers; l++) {
    const layer: HeadCache[] = [];
    for (let k = 0; k < nKvHeads; k++) {
      const e = h.heads[l * nKvHeads + k]!;
      const where = `layer ${l} head ${k}`;
      const positions = ints(r, e.length, `${where} positions`);
      for (let i = 0; i < positions.length; i++) {
        const p = positions[i]!;
        if (!(p >= 0 && p < h.seen && (i === 0 || p > positions[i - 1]!)))
          fail(`${where} position ${i} is ${p}: positions must rise strictly and lie below seen (${h.seen})`);
      }
      if (e.storage === 'float32') {
        const keys = floats(r, e.length * d, `${where} keys`);
        const values = floats(r, e.length * d, `${where} values`);
        const sums = e.attentionSums ? attentionSums(r, e.length, where) : null;
        const head = new HeadCache(d, Math.max(1, e.length), sums !== null, expect.storage ?? heapStorage);
        for (let i = 0; i < e.length; i++) head.append(keys, i * d, values, i * d, positions[i]!);
        if (sums) head.attentionSums!.set(sums);
        layer.push(head);
      } else {
        let sizes;
        const quant = { bits: e.bits, group: e.group, residual: e.residual };
        try {
          sizes = QuantizedHeadCache.stateSizes(d, quant, e);
        } catch (x) {
          return fail(`${where}: ${(x as Error).message}`);
        }
        const sums = e.attentionSums ? attentionSums(r, e.length, where) : null;
        const state: KiviHeadState = {
          ...e,
          positions,
          attentionSums: sums,
          keyCodes: new Uint8Array(copied(r, sizes.keyCodes, `${where} key codes`)),
          keyMin: floats(r, sizes.keyMinMax, `${where} key mins`),
          keyScale: scales(r, sizes.keyMinMax, `${where} key scales`),
          keyTailValues: floats(r, sizes.keyTail, `${where} key tail`),
          valueCodes: new Uint8Array(copied(r, sizes.valueCodes, `${where} value codes`)),
          valueMin: floats(r, sizes.valueMinMax, `${where} value mins`),
          valueScale: scales(r, sizes.valueMinMax, `${where} value scales`),
          valueTailValues: floats(r, sizes.valueTail, `${where} value tail`),
        };
        layer.push(QuantizedHeadCache.fromState(d, quant, state));
      }
    }
    heads.push(layer);
  }
  if (r.remaining !== 0) fail(`${r.remaining} bytes follow the last head`);
  const cache = new KVCache(h.shape, { heads });
  cache.seen = h.seen;
  cache.tokens = Array.from(tokens);
  return { cache, meta: { fingerprint: h.fingerprint, press: h.press, ratio: h.ratio } };
}

/** The header's fields, each checked (the fingerprint first: another model's file is named as such). */
function checkHeader(json: unknown, expect: CacheFileExpect, file: string): Header {
  const fail = (problem: string): never => {
    throw new FormatError(file, problem);
  };
  const obj = (v: unknown, what: string, keys: readonly string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`${what} is ${describeValue(v)}, not an object`);
    for (const k of Object.keys(v)) if (!keys.includes(k)) fail(`${what} has an unknown field ${describeValue(k)}`);
    for (const k of keys) if (!Object.hasOwn(v, k)) fail(`${what} lacks ${k}`);
    return v as Record<string, unknown>;
  };
  const count = (v: unknown, what: string, max = 2 ** 32): number =>
    Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max ? (v as number) : fail(`${what} is ${describeValue(v)}, not an integer in 0…${max}`);
  const flag = (v: unknown, what: string): boolean => (typeof v === 'boolean' ? v : fail(`${what} is ${describeValue(v)}, not true or false`));

  const top = obj(json, 'header', ['fingerprint', 'shape', 'seen', 'press', 'ratio', 'heads']);
  if (typeof top.fingerprint !== 'string') return fail(`header.fingerprint is ${describeValue(top.fingerprint)}, not a string`);
  if (top.fingerprint !== expect.fingerprint) throw new ForeignCacheError(file, top.fingerprint.slice(0, 80), expect.fingerprint);
  const s = obj(top.shape, 'header.shape', ['nLayers', 'nKvHeads', 'headDim']);
  const shape = { nLayers: count(s.nLayers, 'header.shape.nLayers'), nKvHeads: count(s.nKvHeads, 'header.shape.nKvHeads'), headDim: count(s.headDim, 'header.shape.headDim') };
  for (const k of ['nLayers', 'nKvHeads', 'headDim'] as const)
    if (shape[k] !== expect.shape[k]) fail(`header.shape.${k} is ${shape[k]}, the model has ${expect.shape[k]}`);
  const seen = count(top.seen, 'header.seen', 2 ** 24);
  if (top.press !== null && !(typeof top.press === 'string' && top.press.length <= 64)) fail(`header.press is ${describeValue(top.press)}, not a name or null`);
  if (!(typeof top.ratio === 'number' && top.ratio >= 0 && top.ratio < 1)) fail(`header.ratio is ${describeValue(top.ratio)}, not a number in [0, 1)`);
  const n = shape.nLayers * shape.nKvHeads;
  if (!Array.isArray(top.heads) || top.heads.length !== n) return fail(`header.heads must list ${n} heads (layers × KV heads), got ${describeValue(top.heads)}`);
  const heads = top.heads.map((v: unknown, i): HeadEntry => {
    const what = `header.heads[${i}]`;
    const kind = typeof v === 'object' && v !== null ? (v as { storage?: unknown }).storage : undefined;
    if (kind === 'float32') {
      const e = obj(v, what, ['storage', 'length', 'attentionSums']);
      return { storage: 'float32', length: count(e.length, `${what}.length`, seen), attentionSums: flag(e.attentionSums, `${what}.attentionSums`) };
    }
    if (kind !== 'kivi') return fail(`${what}.storage is ${describeValue(kind)}, not 'float32' or 'kivi'`);
    const e = obj(v, what, ['storage', 'bits', 'group', 'residual', 'length', 'keyBlocks', 'keyTail', 'valueTail', 'attentionSums']);
    if (e.bits !== 8 && e.bits !== 4) fail(`${what}.bits is ${describeValue(e.bits)}, not 8 or 4`);
    const group = count(e.group, `${what}.group`, MAX_KIVI_RESIDUAL);
    const residual = count(e.residual, `${what}.residual`, MAX_KIVI_RESIDUAL);
    if (!(group >= 1 && residual >= group && residual % group === 0)) fail(`${what}: residual ${residual} must be a positive multiple of the group ${group}`);
    return {
      storage: 'kivi',
      bits: e.bits as 8 | 4,
      group,
      residual,
      length: count(e.length, `${what}.length`, seen),
      keyBlocks: count(e.keyBlocks, `${what}.keyBlocks`, seen),
      keyTail: count(e.keyTail, `${what}.keyTail`, seen),
      valueTail: count(e.valueTail, `${what}.valueTail`, seen),
      attentionSums: flag(e.attentionSums, `${what}.attentionSums`),
    };
  });
  return { fingerprint: top.fingerprint, shape, seen, press: top.press as string | null, ratio: top.ratio as number, heads };
}

/** n bytes copied out of the file into a buffer of their own (a Node Buffer's slice would share the file's). */
function copied(r: ByteReader, n: number, what: string): ArrayBuffer {
  const out = new Uint8Array(n);
  out.set(r.take(n, what));
  return out.buffer;
}

/** n int32s. */
function ints(r: ByteReader, n: number, what: string): Int32Array {
  return new Int32Array(copied(r, 4 * n, what));
}

/** n float32s, every one finite (a cache the model computed holds no NaN or infinity). */
function floats(r: ByteReader, n: number, what: string): Float32Array {
  const a = new Float32Array(copied(r, 4 * n, what));
  for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]!)) r.fail(`${what}: element ${i} is ${a[i]}`);
  return a;
}

/** Quantisation scales: finite and not negative (max − min over the group). */
function scales(r: ByteReader, n: number, what: string): Float32Array {
  const a = floats(r, n, what);
  for (let i = 0; i < n; i++) if (a[i]! < 0) r.fail(`${what}: element ${i} is negative (${a[i]})`);
  return a;
}

/** Running attention per entry: sums of softmax weights, finite and not negative. */
function attentionSums(r: ByteReader, n: number, where: string): Float32Array {
  return scales(r, n, `${where} attention sums`);
}
