import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = "import { main } from './src/cli/main.ts'; main(process.argv).catch((e) => { console.error('kvtrim: ' + e.message); process.exit(1); });";
const args = (...rest: string[]) => ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, 'kvtrim', 'serve', ...rest];

test('kvtrim serve prints where it listens and its budget, answers, and exits 0 on SIGTERM', async () => {
  ensureKernelsBuilt();
  const child = spawn(process.execPath, args('--port', '0', '--kv-budget', '16MiB', '--threads', '1', '--on-pressure', 'compress'), { cwd: ROOT });
  let err = '';
  child.stderr.setEncoding('utf8');
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      err += d;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\/v1 \| KV budget 16\.0 MiB \| API key \w+ \| on pressure: compress/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`exited early: ${err}`)));
  });
  const health = (await (await fetch(`${address}/health`)).json()) as { model: string };
  assert.equal(health.model, 'kvtrim-tiny');
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, err);
  assert.match(err, /GET \/health 200/);
});

test('kvtrim serve refuses a malformed --kv-budget and bad pressure flags, naming the flag', () => {
  for (const [flags, want] of [
    [['--kv-budget', '2XB'], /--kv-budget expects a positive size/],
    [['--on-pressure', 'evict'], /--on-pressure expects queue or compress, got 'evict'/],
    [['--on-pressure', 'compress', '--pressure-press', 'pyramidkv'], /--pressure-press: pressure press 'pyramidkv' cannot cap a running sequence; one of: streamingllm/],
    [['--on-pressure', 'compress', '--pressure-floor', '0'], /--pressure-floor expects an integer of at least 1/],
    [['--pressure-press', 'h2o'], /--pressure-press and --pressure-floor need --on-pressure compress/],
  ] as const) {
    const r = spawnSync(process.execPath, args(...flags), { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, want);
  }
});

test('kvtrim serve --prefix-dir: a saved prefix is written into that folder, made on the first save', async () => {
  ensureKernelsBuilt();
  const dir = join(mkdtempSync(join(tmpdir(), 'kvtrim-serve-')), 'saved');
  const child = spawn(process.execPath, args('--port', '0', '--kv-budget', '16MiB', '--threads', '1', '--prefix-dir', dir), { cwd: ROOT });
  try {
    let err = '';
    child.stderr.setEncoding('utf8');
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: string) => {
        err += d;
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', () => reject(new Error(`exited early: ${err}`)));
    });
    const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
    const { id } = (await (await fetch(`${address}/v1/kv/prefixes`, { ...json, body: JSON.stringify({ prompt: 'Q: Count from 3 to 9 by 1.\nA:' }) })).json()) as { id: string };
    assert.equal((await fetch(`${address}/v1/kv/prefixes/${id}/save`, { ...json, body: JSON.stringify({ name: 'counting' }) })).status, 200);
    assert.deepEqual(readdirSync(dir), ['counting.kvprefix']);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});
