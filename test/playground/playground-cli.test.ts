import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildBrowserBundle } from '../helpers/browser-bundle.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = "import { main } from './src/cli/main.ts'; main(process.argv).catch((e) => { console.error('kvtrim: ' + e.message); process.exit(1); });";
const args = (...rest: string[]) => ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, 'kvtrim', 'playground', ...rest];

test('kvtrim playground prints its loopback address, serves the page there, and exits 0 on SIGTERM', async () => {
  buildBrowserBundle();
  const child = spawn(process.execPath, args('--port', '0', '--no-isolation'), { cwd: ROOT });
  let err = '';
  child.stderr.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: string) => {
      err += d;
      const m = /kvtrim playground at (http:\/\/127\.0\.0\.1:\d+\/) \(not cross-origin isolated: one thread\)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`exited early: ${err}`)));
  });
  const res = await fetch(url);
  assert.match(await res.text(), /<title>kvtrim playground<\/title>/);
  assert.equal(res.headers.get('cross-origin-embedder-policy'), null);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, err);
});

test('kvtrim playground refuses a bad --port and a missing --model, naming them', () => {
  for (const [flags, want] of [
    [['--port', '-1'], /--port expects an integer of at least 0/],
    [['--model', '/no/such/model'], /--model \/no\/such\/model: no such file or directory/],
  ] as const) {
    const r = spawnSync(process.execPath, args(...flags), { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, want);
  }
});
