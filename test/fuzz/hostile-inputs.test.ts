import assert from 'node:assert/strict';
import { test } from 'node:test';
import { caseOf } from '../../scripts/fuzz/cases.js';
import { fuzz } from '../../scripts/fuzz/engine.js';
import { MUTATIONS } from '../../scripts/fuzz/mutate.js';
import { buildSeeds } from '../../scripts/fuzz/seeds.js';

const SEED = 27;
const CASES = 3000;

test('fuzz cases are deterministic: the same seed and id give the same bytes, another id other bytes', () => {
  const seeds = buildSeeds();
  const bytes = (seed: number, id: number) => Buffer.concat(Object.values(caseOf(seeds, seed, id).files));
  for (const id of [0, 7, 100, 1234]) {
    assert.ok(bytes(SEED, id).equals(bytes(SEED, id)), `case ${id}`);
    assert.ok(!bytes(SEED, id).equals(bytes(SEED + 1, id)) || !bytes(SEED, id).equals(bytes(SEED, id + seeds.length * MUTATIONS.length)), `case ${id} varies`);
  }
});

test(`${CASES} seeded hostile files (every format, every mutation): each a typed error or a clean load, none a crash, hang or out-of-memory`, async () => {
  const results = await fuzz({ seed: SEED, first: 0, count: CASES, caseMs: 10_000, memMB: 1024, heapMB: 1024, batch: CASES });
  assert.equal(results.length, CASES);
  const failures = results.filter((r) => r.outcome !== 'typed' && r.outcome !== 'loaded');
  assert.deepEqual(failures.map((r) => `${r.outcome}: case ${r.id} (${r.target}, ${r.mutation}); npm run fuzz -- --seed ${SEED} --case ${r.id}: ${r.message}`), []);
  // The cases reach every seed input and every mutation, and most are refused (a fuzzer whose mutations all load tests nothing).
  assert.equal(new Set(results.map((r) => r.target.split('/')[0])).size, buildSeeds().length);
  assert.deepEqual(new Set(results.map((r) => r.mutation)), new Set(MUTATIONS));
  assert.ok(results.filter((r) => r.outcome === 'typed').length > CASES / 2);
});
