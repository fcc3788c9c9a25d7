import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../src/cli/info.js';
import { summarizeCheckpoint } from '../../src/formats/checkpoint-summary.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';

/** Runs `kvtrim info ...` in-process with only this command registered (other commands cannot break it). */
function run(argv: string[]): Promise<Command> {
  const program = new Command('kvtrim').exitOverride();
  register(program);
  return program.parseAsync(argv);
}

/** Runs `kvtrim ...args` in-process and returns what it printed, as key → value rows. */
async function info(...args: string[]): Promise<Map<string, string>> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    await run(['node', 'kvtrim', 'info', ...args]);
  } finally {
    console.log = log;
  }
  return new Map(lines.map((l) => /^(.+?)\s{2,}(.*)$/.exec(l)!.slice(1, 3) as [string, string]));
}

test('summary: parameter count and f32 KV bytes per token, computed naively from the README architecture', () => {
  // stories260K: tied; per layer 2 norms + wq, wk, wv, wo + 3 FFN matrices.
  const [V, D, L, F, KV] = [512, 64, 5, 172, 32];
  const perLayer = 2 * D + D * D + 2 * KV * D + D * D + 3 * F * D;
  const s = summarizeCheckpoint(loadCheckpoint(modelPath('stories260K/stories260K.bin')));
  assert.equal(s.parameters, V * D + L * perLayer + D);
  assert.equal(s.kvBytesPerToken, 2 * L * 4 * 8 * 4);
  assert.deepEqual(s.dtypes, { f32: 47 });
  assert.equal(s.weightBytes, 4 * s.parameters);
});

test('kvtrim info prints architecture, size, context, heads and KV bytes per token', { skip: needsExtraModels }, async () => {
  const gguf = await info('--model', modelPath('stories260K/stories260K.gguf'));
  assert.equal(gguf.get('format'), 'gguf');
  assert.equal(gguf.get('architecture'), 'llama');
  assert.match(gguf.get('parameters')!, /^292,800 /);
  assert.match(gguf.get('weights')!, /f32 ×48/);
  assert.equal(gguf.get('context length'), '2048');
  assert.equal(gguf.get('layers'), '5');
  assert.match(gguf.get('heads')!, /8 query, 4 kv \(group 2\), head dim 8/);
  assert.match(gguf.get('KV bytes/token')!, /^1280 /);
  assert.match(gguf.get('tokenizer')!, /vocab 512/);
  const hf = await info('--model', modelPath('tinystories-656K'));
  assert.match(hf.get('parameters')!, /^656,000 /);
  assert.match(hf.get('KV bytes/token')!, /^1024 /);
  assert.equal(hf.get('embeddings'), 'tied');
  const poem = await info('--model', modelPath('zh-poem750K/poem_model.bin'), '--tokenizer', modelPath('zh-poem750K/poem_tok.bin'));
  assert.match(poem.get('tokenizer')!, /vocab 2048/);
  assert.match(poem.get('KV bytes/token')!, /^3840 /);
});

test('kvtrim info on a missing model fails with the path in the message', async () => {
  await assert.rejects(info('--model', '/nonexistent/model.gguf'), /\/nonexistent\/model\.gguf: no such file/);
});

test('kvtrim info lists each matrix with its storage, kept share and bytes, and totals weight bytes stored against dense', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtrim-info-'));
  try {
    const m = randomModel(tinyConfig({ dim: 32, hiddenDim: 64, headDim: 8 }), 4);
    // Layer 0: 2:4 (columns 0 and 1 of each 4 zeroed). Layer 1: every 4th weight kept, unstructured; its down_proj dense with those zeros.
    for (const [name, t] of m.tensors) {
      const layer = /layers\.(\d)\..*_proj/.exec(name)?.[1];
      if (layer === undefined) continue;
      for (let i = 0; i < t.data.length; i++) if (layer === '0' ? i % 4 < 2 : i % 4 !== 0) t.data[i] = 0;
      if (!name.endsWith('1.mlp.down_proj.weight')) t.sparse = layer === '0' ? { kind: 'nm', n: 2, m: 4 } : { kind: 'unstructured' };
    }
    writeHfModel(dir, m);
    const rows = await info('--model', dir);
    // The blob per docs/sparse-format.md: u32 offsets, u16 masks per 16 columns, f32 values, ≥ 16 pad bytes, to a multiple of 8.
    const blob = (r: number, c: number, kept: number) => Math.ceil((4 * (r + 1) + 2 * r * Math.ceil(c / 16) + 4 * kept + 16) / 8) * 8;
    const n = (x: number) => x.toLocaleString('en-US');
    const cells = (name: string) => rows.get(name)!.trim().split(/\s{2,}/);
    assert.deepEqual(cells('model.layers.0.self_attn.q_proj.weight'), ['32×32', 'f32', 'sparse 2:4', '50.00%', n(blob(32, 32, 512)), n(4 * 32 * 32)]);
    assert.deepEqual(cells('model.layers.1.mlp.gate_proj.weight'), ['64×32', 'f32', 'sparse unstructured', '25.00%', n(blob(64, 32, 512)), n(4 * 64 * 32)]);
    assert.deepEqual(cells('model.layers.1.mlp.down_proj.weight'), ['32×64', 'f32', 'dense', '25.00%', n(4 * 32 * 64), n(4 * 32 * 64)]);
    assert.deepEqual(cells('model.embed_tokens.weight'), ['37×32', 'f32', 'dense', '100.00%', n(4 * 37 * 32), n(4 * 37 * 32)]);
    let stored = 0;
    let dense = 0;
    for (const [name, t] of m.tensors) {
      const size = 4 * t.data.length;
      dense += size;
      const [r, c] = t.shape as [number, number];
      stored += !t.sparse ? size : blob(r, c, name.includes('layers.0.') ? (r * c) / 2 : (r * c) / 4);
    }
    assert.equal(rows.get('weight bytes'), `${n(stored)} stored, ${n(dense)} dense (${(stored / dense).toFixed(3)}×)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
