import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { parseLlama2cTokenizer, type Llama2cTokenizer } from '../../src/tokenizer/llama2c-tokenizer.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

const load = (rel: string) => parseLlama2cTokenizer(readFileSync(modelPath(rel)), rel);

interface Case { prompt: string; prompt_ids: number[]; generated_ids: number[]; generated_text: string }
const reference = JSON.parse(readFileSync(modelPath('stories260K/reference.json'), 'utf8')) as { cases: Case[] };

/** run.c's encode() as written there: rescan for the best pair after every merge. */
function naiveEncode(bytesOf: (id: number) => Uint8Array, scores: (id: number) => number, vocab: number, text: string): number[] {
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const lookup = new Map<string, number>();
  for (let id = vocab - 1; id >= 0; id--) lookup.set(key(bytesOf(id)), id);
  const toks: number[] = [1];
  if (text.length > 0) toks.push(lookup.get(' ')!);
  const bytes = Buffer.from(text, 'utf8');
  let buf: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i]! & 0xc0) !== 0x80) buf = [];
    buf.push(bytes[i]!);
    if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup.get(Buffer.from(buf).toString('latin1'));
    if (id !== undefined) toks.push(id);
    else for (const b of buf) toks.push(b + 3);
    buf = [];
  }
  for (;;) {
    let best = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i + 1 < toks.length; i++) {
      const id = lookup.get(key(bytesOf(toks[i]!)) + key(bytesOf(toks[i + 1]!)));
      if (id !== undefined && scores(id) > best) {
        best = scores(id);
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx < 0) break;
    toks.splice(bestIdx, 2, bestId);
  }
  return toks;
}

function naiveFor(path: string, tok: Llama2cTokenizer) {
  const bytes = readFileSync(modelPath(path));
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let off = 4;
  while (off < bytes.length) {
    scores.push(bytes.readFloatLE(off));
    const len = bytes.readInt32LE(off + 4);
    pieces.push(bytes.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  assert.equal(pieces.length, tok.vocabSize);
  return (text: string) => naiveEncode((id) => pieces[id]!, (id) => scores[id]!, pieces.length, text);
}

test('stories260K tok512.bin encodes the five prompts exactly as run.c did', () => {
  const tok = load('stories260K/tok512.bin');
  assert.equal(tok.vocabSize, 512);
  for (const c of reference.cases) assert.deepEqual(tok.encode(c.prompt), c.prompt_ids, c.prompt);
});

test('decoding run.c greedy ids gives run.c text', () => {
  const tok = load('stories260K/tok512.bin');
  for (const c of reference.cases) {
    assert.equal(tok.decode(c.generated_ids), c.generated_text, c.prompt);
    // run.c prints the prompt from its ids too: BOS, then the dummy-prefix space is dropped after BOS.
    assert.equal(tok.decode(c.prompt_ids), c.prompt);
  }
});

test('heap merge equals run.c rescanning loop on varied text, for all three llama2.c vocabularies', { skip: needsExtraModels }, () => {
  const texts = [
    '', ' ', '  two  spaces ', 'Once upon a time, there was a little girl named Lily.',
    'Zoë 🦙 naïve café — “quotes”\n\tnewline', '主题：明月 体裁：五绝\n床前明月光，疑是地上霜。', 'aaaaaaaaaaaaaaaaaaaaaaaa',
    'I dream of electric sheep and vectors unfolding in the quiet hum of nodes.',
  ];
  // Pseudo-random strings over a small alphabet exercise merge ties and chains.
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = 'the a,.!Lily dog 月光é\n';
  for (let k = 0; k < 40; k++) texts.push(Array.from({ length: 1 + Math.floor(rand() * 60) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''));
  for (const path of ['stories260K/tok512.bin', 'aidreams260K/tok512.bin', 'zh-poem750K/poem_tok.bin']) {
    const tok = load(path);
    const naive = naiveFor(path, tok);
    for (const t of texts) assert.deepEqual(tok.encode(t), naive(t), `${path}: ${JSON.stringify(t)}`);
  }
});

test('aidreams and zh-poem tokenizers load and round-trip text', { skip: needsExtraModels }, () => {
  const dreams = load('aidreams260K/tok512.bin');
  assert.equal(dreams.vocabSize, 512);
  const poem = load('zh-poem750K/poem_tok.bin');
  assert.equal(poem.vocabSize, 2048);
  for (const [tok, text] of [
    [dreams, 'I dream of vectors, a gentle hum of precision.'],
    [dreams, 'Ünïcödé → bytes 🦙'],
    [poem, '主题：明月 体裁：五绝\n床前明月光，疑是地上霜。'],
  ] as const) {
    const ids = tok.encode(text);
    assert.equal(ids[0], 1);
    assert.equal(tok.decode(ids), text);
    assert.deepEqual(tok.encode(text, { addBos: false }), ids.slice(1));
  }
  // zh-poem has no byte tokens: characters outside the vocab fall back to ids byte+3, as run.c does.
  const bytes = [...Buffer.from('🦙', 'utf8')];
  assert.deepEqual(poem.encode('🦙', { addBos: false }).slice(-4), bytes.map((b) => b + 3));
});

test('pieces, special ids and decode of specials', () => {
  const tok = load('stories260K/tok512.bin');
  assert.equal(tok.piece(3 + 0x0a), '\n');
  assert.equal(tok.piece(259), ' t');
  assert.deepEqual([0, 1, 2, 3, 259].map((id) => tok.isSpecial(id)), [true, true, true, false, false]);
  assert.equal(tok.bosId, 1);
  assert.ok(tok.eosIds.includes(2) && tok.eosIds.includes(1));
  assert.equal(tok.decode([1, 259, 2]), 't');
  assert.equal(tok.decode([1, 259, 2], { keepSpecial: true }), '\n<s>\nt\n</s>\n');
  assert.equal(tok.decode([]), '');
  assert.equal(tok.decode([99999]), '');
  // A long text must not be quadratic: 200k characters in well under a few seconds.
  const t0 = performance.now();
  const ids = tok.encode('Once upon a time, there was a dog. '.repeat(6000));
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(tok.decode(ids), 'Once upon a time, there was a dog. '.repeat(6000));
});

test('malformed tokenizer.bin files give a FormatError naming the file', () => {
  const good = readFileSync(modelPath('stories260K/tok512.bin'));
  assert.throws(() => parseLlama2cTokenizer(good.subarray(0, 2), 'x.bin'), (e: unknown) => e instanceof FormatError && e.file === 'x.bin');
  assert.throws(() => parseLlama2cTokenizer(good.subarray(0, 1000), 'trunc.bin'), FormatError);
  const bad = Buffer.from(good);
  bad.writeInt32LE(1 << 30, 8); // token 0's length
  assert.throws(() => parseLlama2cTokenizer(bad, 'len.bin'), /len\.bin: token 0 has length/);
  assert.throws(() => parseLlama2cTokenizer(good, 'n.bin', 600), FormatError);
  assert.equal(parseLlama2cTokenizer(good, 'n.bin', 300).vocabSize, 300);
});
