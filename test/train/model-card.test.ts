import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseSafetensors } from '../../src/formats/safetensors.js';
import { modelCard } from '../../scripts/train-tiny/model-card.js';
import type { RunMeta } from '../../scripts/train-tiny/train-state.js';

const dir = new URL('../../models/kvtrim-tiny/', import.meta.url);

test("the embedded model's card is what the exporter writes from its run record (a re-export keeps it)", () => {
  const meta = JSON.parse(readFileSync(new URL('training-run.json', dir), 'utf8')) as RunMeta;
  const weights = parseSafetensors(readFileSync(new URL('model.safetensors', dir)), 'model.safetensors');
  const paramCount = [...weights.tensors.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const heldOutN = Number(/(\d+) examples per ability/.exec(readFileSync(new URL('README.md', dir), 'utf8'))?.[1]);
  assert.equal(modelCard(meta, paramCount, heldOutN), readFileSync(new URL('README.md', dir), 'utf8'));
});
