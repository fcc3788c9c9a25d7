import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import type { Keep, Press } from '../../src/press/press.js';
import { createPress } from '../../src/press/registry.js';
import { randomIds, tinyModel } from './fixtures.js';

const { model, tokenizer } = tinyModel();
const ids = randomIds(30, model.config.vocabSize, 5);
const lengths = (s: Session) => s.cache.heads.flatMap((hs) => hs.map((h) => h.length));

test('a prefill press equals a plain prefill whose cache is then compacted to the same indices (decode logits bit-identical)', () => {
  const recorded: Keep[] = [];
  const inner = createPress('snapkv', { window: 4 });
  const spy: Press = { name: 'spy', compress: (v, b) => (recorded.push(inner.compress(v, b)!), recorded.at(-1)!) };
  const a = new Session(model, tokenizer, { compression: { press: spy, ratio: 0.6 } });
  a.prefill(ids);
  const b = new Session(model, tokenizer);
  b.prefill(ids);
  b.cache.heads.forEach((hs, l) => hs.forEach((h, k) => h.keep(recorded[l]![k]!)));
  for (const t of [4, 8, 15]) assert.deepEqual(a.step(t), b.step(t));
});

test('decoding H2O holds every head at B = floor((1 − r)·T_prompt) after each step; positions keep counting', () => {
  const s = new Session(model, tokenizer, { compression: { decodePress: 'h2o', decodeRatio: 0.5 } });
  s.prefill(ids);
  assert.deepEqual(new Set(lengths(s)), new Set([30]), 'prefill untouched');
  for (let i = 0; i < 6; i++) {
    s.step(3 + i);
    assert.deepEqual(new Set(lengths(s)), new Set([15]));
    for (const hs of s.cache.heads) for (const h of hs) assert.equal(h.positions[h.length - 1], 30 + i, 'newest entry (recent window) kept');
  }
  assert.equal(s.cache.seen, 36);
});

test('decodeInterval compresses only every N steps; generate() applies the decoding press', async () => {
  const s = new Session(model, tokenizer, { compression: { press: 'snapkv', ratio: 0.5, decodePress: 'tova', decodeRatio: 0.6, decodeInterval: 3 } });
  s.prefill(ids);
  const B = Math.floor(0.4 * 30);
  assert.deepEqual(new Set(lengths(s)), new Set([15]));
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    s.step(5);
    seen.push(lengths(s)[0]!);
  }
  assert.deepEqual(seen, [16, 17, B, B + 1, B + 2, B]);
  const g = new Session(model, tokenizer, { compression: { decodePress: 'streamingllm', decodeRatio: 0.5 } });
  g.prefill(ids);
  let n = 0;
  for await (const t of g.generate({ maxTokens: 8, stopTokens: [] })) if (t.id >= 0) n++;
  assert.ok(n >= 1, 'generated something');
  assert.deepEqual(new Set(lengths(g)), new Set([15]), 'every generated token was decoded over a compressed cache');
});

test('H2O as a prefill press turns on attention tracking and evicts; a decoding ratio without a press is refused', () => {
  const s = new Session(model, tokenizer, { compression: { press: 'h2o', ratio: 0.5 } });
  s.prefill(ids);
  assert.ok(s.cache.heads.every((hs) => hs.every((h) => h.attentionSums !== null)));
  assert.deepEqual(new Set(lengths(s)), new Set([15]));
  const plain = new Session(model, tokenizer, { compression: { press: 'snapkv', ratio: 0.5 } });
  plain.prefill(ids);
  assert.ok(plain.cache.heads.every((hs) => hs.every((h) => h.attentionSums === null)), 'no tracking unless asked');
});

test('segments are tokenised one by one into exact absolute ranges; a prompt that is not their concatenation is refused', () => {
  const segments = [
    { kind: 'system' as const, text: 'Be brief. ' },
    { kind: 'shot' as const, text: 'Q: 1+1 A: 2. ' },
    { kind: 'question' as const, text: 'Q: 2+2 A:' },
  ];
  const s = new Session(model, tokenizer, { compression: { press: 'snapkv', ratio: 0.3 } });
  s.prefill(segments.map((x) => x.text).join(''), { segments });
  assert.deepEqual(s.segments, [
    { kind: 'system', start: 0, end: 11 },
    { kind: 'shot', start: 11, end: 24 },
    { kind: 'question', start: 24, end: 33 },
  ]);
  assert.deepEqual(s.cache.tokens, [1, ...tokenizer.encode(segments.map((x) => x.text).join(''))]);
  assert.throws(() => new Session(model, tokenizer).prefill('other text', { segments }), /concatenation/);
});

test('a compressed prefix is reused: clone the cache into new sessions, and each continues exactly like the original', () => {
  const prefix = new Session(model, tokenizer, { compression: { press: 'snapkv', ratio: 0.7 } });
  prefix.prefill(ids);
  const question = randomIds(6, model.config.vocabSize, 9);
  const a = new Session(model, tokenizer, { cache: prefix.cache.clone() });
  const b = new Session(model, tokenizer, { cache: prefix.cache.clone() });
  const la = a.prefill(question);
  assert.deepEqual(b.prefill(question), la);
  assert.deepEqual(prefix.prefill(question, { compress: false }), la);
  assert.equal(a.cache.seen, 36);
  assert.equal(a.cache.entries(), model.config.nLayers * model.config.nKvHeads * (9 + 6));
});
