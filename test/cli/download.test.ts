import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../src/cli/download.js';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { startFakeHub } from '../helpers/fake-hub.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

/** Runs `kvtrim download ...` in-process with only this command registered (other commands cannot break it). */
function run(argv: string[]): Promise<Command> {
  const program = new Command('kvtrim').exitOverride();
  register(program);
  return program.parseAsync(argv);
}

const source = modelPath('tinystories-656K/');
const dir = mkdtempSync(join(tmpdir(), 'kvtrim-dl-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('kvtrim download fetches a real HF model from a (local) hub, resuming a cut transfer, and it loads', { skip: needsExtraModels }, async () => {
  const files = Object.fromEntries(readdirSync(source).map((f) => [f, readFileSync(join(source, f))]));
  const hub = await startFakeHub('raincandy-u/TinyStories-656K', files);
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    hub.state.cutOnce.set('model.safetensors', 1_000_000);
    const argv = ['node', 'kvtrim', 'download', 'raincandy-u/TinyStories-656K', '--endpoint', hub.endpoint, '--cache-dir', dir];
    await assert.rejects(run(argv), /run again to resume/);
    await run(argv);
  } finally {
    console.log = log;
    hub.close();
  }
  const out = join(dir, 'raincandy-u--TinyStories-656K');
  assert.deepEqual(lines, [`6 files in ${out}`]);
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  assert.ok(hub.state.requests.some((r) => r.url.endsWith('model.safetensors') && r.range !== undefined));
  const a = loadCheckpoint(out);
  const b = loadCheckpoint(source);
  assert.deepEqual(a.config, b.config);
  assert.deepEqual(Buffer.from(a.tensors.get(TENSOR_NAMES.layer(1).wDown)!.data), Buffer.from(b.tensors.get(TENSOR_NAMES.layer(1).wDown)!.data));
});
