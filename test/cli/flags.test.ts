import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeDirFor, readFlagFile } from '../../src/cli/cli-files.js';
import { generateError } from '../helpers/cli-command.js';
import { threadsWarning } from '../../src/cli/model-options.js';


test('--max-tokens refuses a negative or fractional count, and --top-k and --threads refuse theirs, naming the flag', async () => {
  assert.match(await generateError('--max-tokens', '-5'), /--max-tokens expects an integer of at least 1, got '-5'/);
  assert.match(await generateError('--max-tokens', '1.5'), /--max-tokens expects an integer of at least 1, got '1\.5'/);
  assert.match(await generateError('--top-k', '-1'), /--top-k expects an integer of at least 0/);
  assert.match(await generateError('--threads', '0'), /--threads expects an integer of at least 1/);
});

test('--version prints the version package.json states', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const cli = new URL('../../src/cli/main.ts', import.meta.url).href;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(cli)}).then((m) => m.main(['node', 'kvtrim', '--version']))`], { encoding: 'utf8' });
  assert.equal(out.trim(), version);
  const bin = new URL('../../bin/kvtrim.js', import.meta.url);
  assert.ok(existsSync(new URL('../../dist/src/cli/main.js', import.meta.url)), 'the built CLI exists (npm test builds it first)');
  assert.equal(execFileSync(process.execPath, [fileURLToPath(bin), '--version'], { encoding: 'utf8' }).trim(), version, 'the built CLI finds package.json too');
});

test('a missing --text file and an --out under /proc are refused at once with a message naming the flag', () => {
  assert.throws(() => readFlagFile('text', '/nonexistent/story.txt'), /^Error: --text \/nonexistent\/story\.txt: no such file$/);
  const t0 = performance.now();
  assert.throws(() => makeDirFor('out', '/proc/x/x.jsonl'), /--out \/proc\/x\/x\.jsonl: cannot create \/proc\/x/);
  assert.ok(performance.now() - t0 < 5000);
  const dir = mkdtempSync(join(tmpdir(), 'kvtrim-out-'));
  makeDirFor('out', join(dir, 'a', 'b', 'r.jsonl'));
  assert.ok(statSync(join(dir, 'a', 'b')).isDirectory());
});

test('--threads above the core count is warned about, naming both numbers; up to the core count it is not', () => {
  assert.equal(threadsWarning(8, 2), "--threads 8 is more than this machine's 2 cores: the extra threads share cores and slow every kernel down");
  assert.equal(threadsWarning(2, 2), undefined);
  assert.equal(threadsWarning(1, 2), undefined);
});
