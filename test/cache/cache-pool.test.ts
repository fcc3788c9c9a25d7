import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachePool, PoolFullError } from '../../src/cache/cache-pool.js';
import { HeadCache } from '../../src/cache/head-cache.js';
import { KVCache } from '../../src/cache/kv-cache.js';

const per = HeadCache.bytesPerEntry(4);
function cacheWith(entries: number): KVCache {
  const c = new KVCache({ nLayers: 1, nKvHeads: 1, headDim: 4 });
  for (let t = 0; t < entries; t++) c.heads[0]![0]!.append(new Float32Array(4), 0, new Float32Array(4), 0, t);
  return c;
}

test('the pool charges max(bytes, reservation), refuses overcommit clearly, and frees on release', () => {
  const pool = new CachePool(100 * per);
  const a = cacheWith(30);
  pool.admit(a, 50 * per);
  assert.equal(pool.used(), 50 * per);
  const b = cacheWith(40);
  pool.admit(b);
  assert.equal(pool.used(), 90 * per);
  for (let t = 30; t < 60; t++) a.heads[0]![0]!.append(new Float32Array(4), 0, new Float32Array(4), 0, t);
  assert.equal(pool.used(), 100 * per, 'growth beyond the reservation is charged');
  assert.throws(() => pool.admit(cacheWith(1)), PoolFullError);
  assert.throws(() => pool.admit(a), /already admitted/);
  a.heads[0]![0]!.keep(Int32Array.from({ length: 10 }, (_, i) => i));
  assert.equal(pool.used(), 90 * per, 'compression below the reservation does not release it');
  pool.release(a);
  assert.equal(pool.used(), 40 * per);
  pool.admit(cacheWith(60));
  assert.throws(() => new CachePool(0), RangeError);
});

test('admitWhenFree waits for a release, times out with PoolFullError, and rejects requests larger than the budget', async () => {
  const pool = new CachePool(10 * per);
  const a = cacheWith(8);
  pool.admit(a);
  const waiting = pool.admitWhenFree(cacheWith(5), 0, 5000);
  setTimeout(() => pool.release(a), 20);
  await waiting;
  assert.equal(pool.used(), 5 * per);
  await assert.rejects(pool.admitWhenFree(cacheWith(6), 0, 30), PoolFullError);
  await assert.rejects(pool.admitWhenFree(cacheWith(11)), /exceed the whole budget/);
});
