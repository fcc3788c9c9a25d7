import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { modelPath } from '../helpers/model-files.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rejects(run: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(run, (e: unknown) => e instanceof FormatError && e.message.startsWith(`${file}: `) && pattern.test(e.message));
}

test('loadCheckpoint: missing paths, unknown formats, broken HF directories, hostile shard names', () => {
  rejects(() => loadCheckpoint(join(dir, 'nope.gguf')), join(dir, 'nope.gguf'), /no such file/);
  const txt = join(dir, 'model.txt');
  writeFileSync(txt, 'hello');
  rejects(() => loadCheckpoint(txt), txt, /unknown model format/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  rejects(() => loadCheckpoint(empty), join(empty, 'config.json'), /cannot read/);
  writeFileSync(join(empty, 'config.json'), '{"hidden_size": ');
  rejects(() => loadCheckpoint(empty), join(empty, 'config.json'), /not valid JSON/);
  writeFileSync(join(empty, 'config.json'), '{}');
  rejects(() => loadCheckpoint(empty), empty, /no model.safetensors/);
  writeFileSync(join(empty, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': '../../etc/passwd.safetensors' } }));
  rejects(() => loadCheckpoint(empty), join(empty, 'model.safetensors.index.json'), /plain .safetensors file name/);
  writeFileSync(join(empty, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'missing.safetensors' } }));
  rejects(() => loadCheckpoint(empty), join(empty, 'missing.safetensors'), /cannot read/);
  writeFileSync(join(empty, 'model.safetensors.index.json'), '[]');
  rejects(() => loadCheckpoint(empty), join(empty, 'model.safetensors.index.json'), /weight_map/);
  const v0path = join(dir, 'short.bin');
  writeFileSync(v0path, readFileSync(modelPath('stories260K/stories260K.bin')).subarray(0, 100));
  rejects(() => loadCheckpoint(v0path), v0path, /should be/);
});

test('loadCheckpoint: a directory with one .gguf and no config.json loads that GGUF', () => {
  const ggufDir = join(dir, 'gguf-only');
  mkdirSync(ggufDir);
  writeFileSync(join(ggufDir, 'model-q8_0.gguf'), readFileSync(modelPath('stories260K/stories260K.gguf')));
  const ck = loadCheckpoint(ggufDir);
  assert.equal(ck.format, 'gguf');
  assert.equal(ck.source, join(ggufDir, 'model-q8_0.gguf'));
});
