import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Model } from '../../src/model/model.js';
import { calibrationFromModel, calibrationFromTokens, rankDeficiencyWarning } from '../../src/prune/calibration.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';

const text = Array.from({ length: 300 }, (_, i) => 3 + i);

test('calibration windows from text are contiguous slices, seeded, optionally after BOS', () => {
  const a = calibrationFromTokens(text, 5, 20, { seed: 7 });
  assert.deepEqual(a, calibrationFromTokens(text, 5, 20, { seed: 7 }));
  assert.notDeepEqual(a, calibrationFromTokens(text, 5, 20, { seed: 8 }));
  for (const w of a) {
    assert.equal(w.length, 20);
    for (let i = 1; i < w.length; i++) assert.equal(w[i], w[i - 1]! + 1);
  }
  const withBos = calibrationFromTokens([1, ...text], 4, 20, { seed: 7, bosId: 1 });
  for (const w of withBos) {
    assert.equal(w.length, 20);
    assert.equal(w[0], 1);
    assert.ok(w.slice(1).every((id) => id !== 1));
  }
  // a text exactly one window long gives that window every time
  assert.deepEqual(calibrationFromTokens(text.slice(0, 20), 2, 20), [text.slice(0, 20), text.slice(0, 20)]);
  assert.throws(() => calibrationFromTokens(text.slice(0, 10), 2, 20), /has 10 tokens, a sample needs 20/);
  assert.throws(() => calibrationFromTokens(text, 0, 20), /samples/);
  assert.throws(() => calibrationFromTokens(text, 2, 1), /length/);
});

test('calibration sampled from the model: BOS-started, seeded, within the vocabulary', () => {
  const model = Model.fromCheckpoint(toCheckpoint(randomModel(tinyConfig(), 2)));
  const a = calibrationFromModel(model, 3, 12, { seed: 4, bosId: 1 });
  assert.deepEqual(a, calibrationFromModel(model, 3, 12, { seed: 4, bosId: 1 }));
  assert.notDeepEqual(a, calibrationFromModel(model, 3, 12, { seed: 5, bosId: 1 }));
  for (const s of a) {
    assert.equal(s.length, 12);
    assert.equal(s[0], 1);
    assert.ok(s.every((id) => Number.isInteger(id) && id >= 0 && id < 37));
  }
  assert.throws(() => calibrationFromModel(model, 1, 65, { bosId: 1 }), /exceeds the model's context of 64/);
});

test('fewer calibration tokens than the widest linear input warn that the Hessian is rank-deficient, naming both numbers', () => {
  const config = { dim: 64, hiddenDim: 172 };
  assert.match(rankDeficiencyWarning(171, config)!, /calibrated on 171 tokens, fewer than the 172 inputs of the widest layer: its Hessian is rank-deficient/);
  assert.match(rankDeficiencyWarning(10, config)!, /--calib-samples × --seq-len tokens .* of at least 172/);
  assert.equal(rankDeficiencyWarning(172, config), undefined, 'full rank is possible from 172 tokens on');
  assert.equal(rankDeficiencyWarning(100, { dim: 96, hiddenDim: 64 }), undefined, 'the widest input may be the model width');
});
