import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../src/cli/info.js';
import { summarizeCheckpoint } from '../../src/formats/checkpoint-summary.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

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
