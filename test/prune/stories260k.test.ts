import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { perplexity } from '../../src/eval/perplexity.js';
import { loadModel } from '../../src/model/load-model.js';
import { Model } from '../../src/model/model.js';
import { calibrationFromModel } from '../../src/prune/calibration.js';
import { writePrunedModel } from '../../src/prune/export-pruned.js';
import { pruneModel, type PruneMethod } from '../../src/prune/prune-model.js';
import { parseSparsityPattern } from '../../src/prune/sparsity-pattern.js';
import { modelPath } from '../helpers/model-files.js';

const MODEL = modelPath('stories260K/stories260K.bin');
const { model: dense, checkpoint, tokenizer } = await loadModel(MODEL);
const bosId = tokenizer.bosId!;
// Calibration and held-out text are both sampled from the unpruned model, with disjoint seeds.
const calibration = calibrationFromModel(dense, 8, 128, { seed: 0, bosId });
const heldOut = calibrationFromModel(dense, 4, 192, { seed: 1000, bosId }).flat();
const WINDOW = { window: 256, stride: 224 };
const denseResult = perplexity(dense, heldOut, WINDOW);

const results = new Map<string, { ppl: number; relErrors: Map<string, number> }>();
function pruned(method: PruneMethod, pattern: string) {
  const key = `${method} ${pattern}`;
  if (!results.has(key)) {
    const model = Model.fromCheckpoint(checkpoint);
    const res = pruneModel(model, calibration, { method, pattern: pattern === '50%' ? parseSparsityPattern(0.5) : parseSparsityPattern(undefined, pattern) });
    results.set(key, { ppl: perplexity(model, heldOut, WINDOW).perplexity, relErrors: new Map(res.matrices.map((m) => [m.name, m.relError!])) });
  }
  return results.get(key)!;
}

test('stories260K at 50 %: every layer reconstructs its outputs better with SparseGPT than with magnitude pruning', (t) => {
  const sg = pruned('sparsegpt', '50%').relErrors;
  const mag = pruned('magnitude', '50%').relErrors;
  for (const [name, e] of sg) {
    t.diagnostic(`${name}: relative ‖WX − ŴX‖² sparsegpt ${e.toExponential(3)}, magnitude ${mag.get(name)!.toExponential(3)}`);
    assert.ok(e < mag.get(name)!, name);
  }
});

for (const pattern of ['50%', '2:4'])
  test(`stories260K at ${pattern}: held-out perplexity is lower after SparseGPT than after magnitude pruning`, (t) => {
    const sg = pruned('sparsegpt', pattern).ppl;
    const mag = pruned('magnitude', pattern).ppl;
    t.diagnostic(`perplexity on ${heldOut.length} held-out tokens: dense ${denseResult.perplexity.toFixed(3)}, sparsegpt ${sg.toFixed(3)}, magnitude ${mag.toFixed(3)}`);
    assert.ok(denseResult.perplexity < sg && sg < mag, `dense ${denseResult.perplexity}, sparsegpt ${sg}, magnitude ${mag}`);
  });

test('a pruned stories260K written as an HF directory loads back with the same logits', async () => {
  const model = Model.fromCheckpoint(checkpoint);
  const res = pruneModel(model, calibration.slice(0, 4), { method: 'sparsegpt', pattern: parseSparsityPattern(undefined, '2:4') });
  const dir = join(mkdtempSync(join(tmpdir(), 'kvtrim-prune-')), 'out');
  try {
    const written = writePrunedModel(checkpoint, res.weights, dir);
    assert.deepEqual(written.files, ['config.json', 'model.safetensors', 'tokenizer.bin']);
    const back = await loadModel(dir, { tokenizerPath: join(dir, 'tokenizer.bin') });
    assert.equal(back.checkpoint.format, 'safetensors');
    assert.deepEqual(back.tokenizer.encode('Once upon a time'), tokenizer.encode('Once upon a time'));
    const maxDiff = logitDifference(model, back.model);
    assert.ok(maxDiff < 1e-4, `max logit difference ${maxDiff}`);
    for (const [name, w] of res.weights) {
      const t = back.checkpoint.tensors.get(name)!;
      const zeros = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)).filter((v) => v === 0).length;
      assert.equal(zeros, w.filter((v) => v === 0).length, `${name} keeps its zeros`);
    }
    assert.throws(() => writePrunedModel(checkpoint, res.weights, dir), /not an empty directory/);
  } finally {
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});

test('stories260K pruned 2:4 with --quantize q8_0 and stored sparse loads back with the logits of the model it was pruned into', async () => {
  const model = Model.fromCheckpoint(checkpoint);
  const res = pruneModel(model, calibration.slice(0, 4), { method: 'sparsegpt', pattern: parseSparsityPattern(undefined, '2:4'), quantize: 'q8_0', measureError: false });
  // 64-input matrices are quantised; the FFN's 172-input down_proj keeps float values.
  assert.deepEqual([...new Set(res.matrices.map((m) => `${m.name.replace(/^model\.layers\.\d+\./, '')} ${m.quantized ?? 'float'}`))].sort().slice(0, 2), ['mlp.down_proj.weight float', 'mlp.gate_proj.weight q8_0']);
  const dir = join(mkdtempSync(join(tmpdir(), 'kvtrim-prune-q8-')), 'out');
  try {
    writePrunedModel(checkpoint, res.weights, dir, { sparse: { kind: 'nm', n: 2, m: 4 }, quantized: res.quantized });
    const back = await loadModel(dir, { tokenizerPath: join(dir, 'tokenizer.bin') });
    const q = back.checkpoint.tensors.get('model.layers.2.self_attn.q_proj.weight')!;
    assert.equal(q.dtype, 'q8_0');
    assert.equal(q.sparse?.kind, 'nm');
    // The q/k rows were reordered from llama2.c's interleaved rope layout to HF's half split, bytes and all.
    const maxDiff = logitDifference(model, back.model);
    assert.ok(maxDiff < 1e-4, `max logit difference ${maxDiff}`);
  } finally {
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});

/** Largest difference of two models' logits over 40 held-out tokens. */
function logitDifference(a: Model, b: Model): number {
  const ids = heldOut.slice(0, 40);
  const want = a.forward(ids, a.newCache(), { allLogits: true });
  const got = b.forward(ids, b.newCache(), { allLogits: true });
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(want[i]! - got[i]!));
  return maxDiff;
}
