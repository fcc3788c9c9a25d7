import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvQuantDefaults } from '../../src/cache/quantized-head-cache.js';
import { pressOptions } from '../../src/cli/press-options.js';
import { Session } from '../../src/generate/session.js';
import { tinyModel } from '../press/fixtures.js';

const { model, tokenizer } = tinyModel({ maxSeqLen: 128 });

test('--press kvzip and --press duo-attention get the model from the CLI and compress a prompt (they run the model themselves)', () => {
  for (const press of ['kvzip', 'duo-attention']) {
    const s = new Session(model, tokenizer, { compression: pressOptions({ press, ratio: 0.5, kvGroup: kvQuantDefaults.group, kvResidual: kvQuantDefaults.residual }, { model, tokenizer }) });
    s.prefill('abcdefghijkl');
    assert.ok(s.cache.bytes() > 0, press);
    assert.ok(s.cache.bytes() < s.cache.fullBytes(), `${press} kept fewer bytes than the full cache`);
  }
});

test('--press-param gates=FILE is read through the CLI reader; a malformed file is a clear error naming what it expected', () => {
  const read: string[] = [];
  const opts = pressOptions({ press: 'duo-attention', ratio: 0.5, kvGroup: kvQuantDefaults.group, kvResidual: kvQuantDefaults.residual, pressParam: ['gates=/some/gates.json'] }, {
    model,
    tokenizer,
    readText: (path) => (read.push(path), '{"method":"wrong"}'),
  });
  assert.throws(() => new Session(model, tokenizer, { compression: opts }).prefill('a b c d e f'), /duo gates: expected method 'kl-when-streaming'/);
  assert.deepEqual(read, ['/some/gates.json']);
});
