import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPress } from '../../src/press/registry.js';
import { fidelityReferences, loadStories, teacherForcedKL } from '../helpers/stories260k.js';

const STEPS = 24;

test('stories260K at ratio 0.5: SnapKV next-token KL vs the full cache is well below Random (3 seeds)', async () => {
  const loaded = await loadStories();
  // Context: each reference prompt plus run.c's greedy continuation (69–82 tokens); then the full
  // cache's own greedy continuation is teacher-forced through every compressed cache.
  const refs = fidelityReferences(loaded, STEPS);
  const meanKL = (press: string, params: Record<string, number> = {}) => teacherForcedKL(loaded, refs, () => ({ compression: { press: createPress(press, params), ratio: 0.5 } })).kl;
  const snap = meanKL('snapkv');
  const random = [0, 1, 2].map((seed) => meanKL('random', { seed }));
  console.log(`stories260K ratio 0.5 mean next-token KL: snapkv ${snap.toFixed(4)}, random ${random.map((x) => x.toFixed(4)).join(' / ')}`);
  for (const r of random) assert.ok(snap < r / 2, `snapkv ${snap} vs random ${r}`);
});
