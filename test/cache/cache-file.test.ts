import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCacheFile, encodeCacheFile, ForeignCacheError, largestCacheFile, MAX_CACHE_HEADER_BYTES, type CacheFileExpect } from '../../src/cache/cache-file.js';
import { HeadCache } from '../../src/cache/head-cache.js';
import { KVCache } from '../../src/cache/kv-cache.js';
import { QuantizedHeadCache, type KvQuantOptions } from '../../src/cache/quantized-head-cache.js';
import { FormatError } from '../../src/formats/format-error.js';
import { mulberry32 } from '../helpers/mulberry32.js';

const shape = { nLayers: 2, nKvHeads: 3, headDim: 8 };
const expect: CacheFileExpect = { fingerprint: 'sha256:model-a', shape, vocabSize: 100 };
const meta = { fingerprint: 'sha256:model-a', press: 'snapkv', ratio: 0.5 };

/** A cache of `seen` random entries per head, then ragged evictions (each head keeps a different subset), with attention sums. */
function filledCache(seen: number, quant?: KvQuantOptions, seed = 1): KVCache {
  const rand = mulberry32(seed);
  const cache = new KVCache(shape, { quant, trackAttentionSums: true });
  const d = shape.headDim;
  const k = Float32Array.from({ length: seen * d }, () => rand() * 4 - 2);
  const v = Float32Array.from({ length: seen * d }, () => rand() * 4 - 2);
  cache.heads.forEach((layer, l) =>
    layer.forEach((h, i) => {
      for (let t = 0; t < seen; t++) h.append(k, t * d, v, t * d, t);
      for (let t = 0; t < seen; t++) h.attentionSums![t] = rand();
      // Keep every (l + i + 1)-th entry but the last few: ragged lengths, positions with gaps.
      const keep = [...Array(seen).keys()].filter((t) => t % (l + i + 1) === 0 || t >= seen - 3);
      h.keep(Int32Array.from(keep));
    }),
  );
  cache.seen = seen;
  cache.tokens = Array.from({ length: seen }, (_, t) => (t * 7) % 100);
  return cache;
}

/** Every byte a head holds that reading attends to or continuing appends from. */
function headBytes(h: HeadCache): Uint8Array[] {
  const n = h.length;
  const d = h.headDim;
  const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const views = [u8(h.positions.subarray(0, n)), u8(h.attentionSums!.subarray(0, n)), u8(h.keys.slice(0, n * d)), u8(h.values.slice(0, n * d))];
  if (h instanceof QuantizedHeadCache) {
    const s = h.state();
    views.push(...[s.keyCodes, s.keyMin, s.keyScale, s.keyTailValues, s.valueCodes, s.valueMin, s.valueScale, s.valueTailValues].map(u8));
  }
  return views;
}

function assertSameCache(a: KVCache, b: KVCache): void {
  assert.equal(b.seen, a.seen);
  assert.deepEqual(b.tokens, a.tokens);
  assert.equal(b.bytes(), a.bytes());
  a.heads.forEach((layer, l) => layer.forEach((h, i) => assert.deepEqual(headBytes(b.heads[l]![i]!), headBytes(h), `layer ${l} head ${i}`)));
}

/** Appends the same new entries to both caches (as decoding on would). */
function continueBoth(a: KVCache, b: KVCache, steps: number): void {
  const rand = mulberry32(9);
  const d = shape.headDim;
  for (let t = 0; t < steps; t++) {
    const k = Float32Array.from({ length: d }, () => rand() * 4 - 2);
    const v = Float32Array.from({ length: d }, () => rand() * 4 - 2);
    for (const c of [a, b]) for (const layer of c.heads) for (const h of layer) h.append(k, 0, v, 0, c.seen);
    a.seen++;
    b.seen++;
  }
}

test('a float32 cache round-trips bit for bit (ragged heads, attention sums, tokens) and the file is exactly its documented size', () => {
  const cache = filledCache(37);
  const bytes = encodeCacheFile(cache, meta);
  const headerBytes = new DataView(bytes.buffer).getUint32(12, true);
  // magic + version + header length, the header, tokens, every head's bytes, and 4 bytes of attention sum per entry.
  assert.equal(bytes.length, 16 + headerBytes + 4 * cache.seen + cache.bytes() + 4 * cache.entries());
  const { cache: back, meta: m } = decodeCacheFile(bytes, expect);
  assert.deepEqual(m, meta);
  assertSameCache(cache, back);
  // As read from disk: a Node Buffer at an odd offset of a shared pool.
  assertSameCache(cache, decodeCacheFile(Buffer.concat([Buffer.alloc(1), bytes]).subarray(1), expect).cache);
  continueBoth(cache, back, 5);
  assertSameCache(cache, back);
});

test('a KIVI cache (int8 and int4) round-trips its quantised state bit for bit, and appends after loading re-quantise exactly as before saving', () => {
  for (const quant of [
    { bits: 8, group: 4, residual: 8 },
    { bits: 4, group: 2, residual: 6 },
  ] as const) {
    for (const seen of [3, 29]) {
      const cache = filledCache(seen, quant, seen);
      const bytes = encodeCacheFile(cache, meta);
      const headerBytes = new DataView(bytes.buffer).getUint32(12, true);
      assert.equal(bytes.length, 16 + headerBytes + 4 * cache.seen + cache.bytes() + 4 * cache.entries(), `int${quant.bits} seen ${seen}`);
      const back = decodeCacheFile(bytes, expect).cache;
      assert.ok(back.quantized);
      assertSameCache(cache, back);
      // Crosses key block flushes and value quantisation: both must happen identically.
      continueBoth(cache, back, 13);
      assertSameCache(cache, back);
    }
  }
});

/** The file with its JSON header replaced by `edit` of it. */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const n = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + n))) as Record<string, unknown>;
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(16 + json.length + bytes.length - 16 - n);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(bytes.subarray(16 + n), 16 + json.length);
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp, type: new (...a: never[]) => Error = FormatError): void {
  assert.throws(() => decodeCacheFile(bytes, expect, 'p.kvprefix'), (e: unknown) => {
    assert.ok(e instanceof type, `${String(e)} is not a ${type.name}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test('no file is larger than largestCacheFile of its cache: attention sums on every entry, float32 and KIVI, down to empty heads', () => {
  for (const quant of [undefined, { bits: 4, group: 2, residual: 6 } as const]) {
    for (const seen of [1, 4, 29]) {
      const cache = filledCache(seen, quant, seen);
      const size = encodeCacheFile(cache, meta).length;
      assert.ok(size <= largestCacheFile(cache.bytes(), cache.seen), `seen ${seen}`);
      // What the bound allows beyond the real size is the unused header room, and at most the attention sums' 4 bytes per entry.
      assert.ok(largestCacheFile(cache.bytes(), cache.seen) - size <= MAX_CACHE_HEADER_BYTES + cache.bytes() - 4 * cache.entries());
    }
  }
});

test('a truncated file is a FormatError at every cut, never a RangeError or a partial cache', () => {
  for (const quant of [undefined, { bits: 4, group: 2, residual: 6 } as const]) {
    const bytes = encodeCacheFile(filledCache(11, quant), meta);
    for (let cut = 0; cut < bytes.length; cut += cut < 40 ? 1 : 7) refused(bytes.subarray(0, cut), /truncated or corrupt/);
  }
});

test('wrong magic, another version, a header past the end or over the limit, trailing bytes: each refused by name', () => {
  const bytes = encodeCacheFile(filledCache(11), meta);
  const poke = (at: number, f: (v: DataView) => void) => {
    const b = bytes.slice();
    f(new DataView(b.buffer, at));
    return b;
  };
  refused(poke(0, (v) => v.setUint8(0, 0x47)), /not a kvtrim KV cache file/);
  refused(poke(8, (v) => v.setUint32(0, 2, true)), /version 2 is not supported/);
  refused(poke(12, (v) => v.setUint32(0, bytes.length, true)), /truncated or corrupt: header needs/);
  refused(poke(12, (v) => v.setUint32(0, 0xffffffff, true)), /exceeds the limit/);
  refused(Uint8Array.from([...bytes, 0]), /1 bytes follow the last head/);
});

test("another model's file is a ForeignCacheError naming both fingerprints; a shape that is not the model's is refused", () => {
  const bytes = encodeCacheFile(filledCache(11), { ...meta, fingerprint: 'sha256:model-b' });
  refused(bytes, /another model \(fingerprint sha256:model-b, this model is sha256:model-a\)/, ForeignCacheError);
  const good = encodeCacheFile(filledCache(11), meta);
  refused(withHeader(good, (h) => ((h.shape as Record<string, number>).headDim = 16)), /shape.headDim is 16, the model has 8/);
});

test('header fields that lie are refused: lengths past the end or above seen, counts of heads, unknown fields, KIVI counters that do not add up', () => {
  const bytes = encodeCacheFile(filledCache(11), meta);
  type Heads = Record<string, unknown>[];
  refused(withHeader(bytes, (h) => ((h.heads as Heads)[1]!.length = 11)), /truncated or corrupt|positions must rise/);
  refused(withHeader(bytes, (h) => ((h.heads as Heads)[5]!.length = 2 ** 31)), /heads\[5\]\.length is 2147483648, not an integer in 0…11/);
  refused(withHeader(bytes, (h) => (h.seen = 2 ** 40)), /seen is 1099511627776/);
  refused(withHeader(bytes, (h) => (h.heads as Heads).pop()), /heads must list 6 heads/);
  refused(withHeader(bytes, (h) => (h.extra = 1)), /header has an unknown field "extra"/);
  refused(withHeader(bytes, (h) => ((h.heads as Heads)[0]!.storage = 'fp8')), /header.heads\[0\].storage is "fp8"/);
  refused(withHeader(bytes, (h) => (h.ratio = 1.5)), /ratio is 1.5/);
  const kivi = encodeCacheFile(filledCache(11, { bits: 8, group: 4, residual: 8 }), meta);
  refused(withHeader(kivi, (h) => ((h.heads as Heads)[0]!.keyTail = 0)), /layer 0 head 0: KIVI head: \d+ key blocks of 4 and a tail of 0 do not make its length/);
  refused(withHeader(kivi, (h) => ((h.heads as Heads)[0]!.residual = 6)), /residual 6 must be a positive multiple of the group 4/);
  // Tails of R entries are allocated whatever the length: a huge R is refused before any allocation.
  refused(withHeader(kivi, (h) => ((h.heads as Heads)[0]!.residual = 2 ** 24)), /residual is 16777216, not an integer in 0…1024/);
});

test('entries that no model computes are refused: positions out of order or past seen, NaN keys, negative scales, tokens outside the vocabulary', () => {
  const cache = filledCache(11);
  const bytes = encodeCacheFile(cache, meta);
  const start = 16 + new DataView(bytes.buffer).getUint32(12, true);
  const dataAt = (b: Uint8Array, at: number) => new DataView(b.buffer, start + at);
  const poked = (at: number, f: (v: DataView) => void) => {
    const b = bytes.slice();
    f(dataAt(b, at));
    return b;
  };
  const firstHead = 4 * cache.seen; // after the tokens
  const n0 = cache.heads[0]![0]!.length;
  refused(poked(0, (v) => v.setInt32(0, 100, true)), /token 0 is 100, outside the vocabulary of 100/);
  refused(poked(firstHead, (v) => v.setInt32(4, 0, true)), /layer 0 head 0 position 1 is 0: positions must rise strictly/);
  refused(poked(firstHead, (v) => v.setInt32(4 * (n0 - 1), 11, true)), /position \d+ is 11: .*below seen \(11\)/);
  refused(poked(firstHead + 4 * n0, (v) => v.setFloat32(0, NaN, true)), /layer 0 head 0 keys: element 0 is NaN/);
  const kivi = filledCache(11, { bits: 8, group: 4, residual: 8 });
  const kb = encodeCacheFile(kivi, meta);
  const ks = 16 + new DataView(kb.buffer).getUint32(12, true);
  const h0 = (kivi.heads[0]![0] as QuantizedHeadCache).state();
  // positions, attention sums, key codes, then the key scales after the key mins.
  const scaleAt = ks + 4 * kivi.seen + 8 * h0.length + h0.keyCodes.length + 4 * h0.keyMin.length;
  const b = kb.slice();
  new DataView(b.buffer).setFloat32(scaleAt, -1, true);
  refused(b, /layer 0 head 0 key scales: element 0 is negative/);
});

test('seeded random byte changes anywhere in a file: each either decodes or is a FormatError (no other exception)', () => {
  const rand = mulberry32(23);
  const files = [encodeCacheFile(filledCache(11), meta), encodeCacheFile(filledCache(13, { bits: 4, group: 2, residual: 6 }), meta)];
  let refusals = 0;
  for (let i = 0; i < 600; i++) {
    const b = files[i % 2]!.slice();
    // Half the cases hit the first 64 bytes (magic, version, lengths, the start of the header).
    for (let k = 0; k < 1 + (i % 3); k++) b[Math.floor(rand() * (i % 4 < 2 ? 64 : b.length))] = Math.floor(rand() * 256);
    try {
      decodeCacheFile(b, expect);
    } catch (e) {
      assert.ok(e instanceof FormatError, `case ${i}: ${String(e)}`);
      refusals++;
    }
  }
  assert.ok(refusals > 300, `${refusals} of 600 mutated files refused`);
});

test('a cache whose token record does not match its positions is not written', () => {
  const cache = filledCache(5);
  cache.tokens.pop();
  assert.throws(() => encodeCacheFile(cache, meta), /4 tokens for 5 positions/);
});
