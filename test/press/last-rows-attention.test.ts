import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxAbsDiff, naiveWindowAttention, syntheticLayer } from './fixtures.js';

test('view.attention matches the float64 oracle: window rows, causal softmax over all keys, group mean (GQA and MHA)', () => {
  for (const [nHeads, nKvHeads] of [
    [4, 2],
    [3, 3],
    [6, 1],
  ] as const) {
    const s = syntheticLayer({ T: 23, nHeads, nKvHeads, seed: nHeads * 10 + nKvHeads });
    for (let h = 0; h < nKvHeads; h++)
      for (const rows of [1, 5, 23]) {
        const got = s.view.attention(h, { rows });
        const want = naiveWindowAttention(s, s.T, h, rows).flat();
        assert.equal(got.length, rows * s.T);
        assert.ok(maxAbsDiff(got, want) < 1e-6, `${nHeads}/${nKvHeads} head ${h} rows ${rows}: ${maxAbsDiff(got, want)}`);
        // Every row is a distribution over the keys it may see.
        for (let r = 0; r < rows; r++) {
          const row = got.subarray(r * s.T, (r + 1) * s.T);
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
          for (let j = s.T - rows + r + 1; j < s.T; j++) assert.equal(row[j], 0, 'no weight on future keys');
        }
      }
  }
});

test('view.attention over a ragged (already compacted) head follows its absolute positions', () => {
  const s = syntheticLayer({ T: 17, seed: 4 });
  s.heads[1]!.keep(Int32Array.from([0, 2, 3, 7, 8, 12, 16]));
  const want = naiveWindowAttention(s, s.T, 1, 4).flat();
  assert.ok(maxAbsDiff(s.view.attention(1, { rows: 4 }), want) < 1e-6);
});
