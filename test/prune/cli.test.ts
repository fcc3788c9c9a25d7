import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { perplexity } from '../../src/eval/perplexity.js';
import { loadModel } from '../../src/model/load-model.js';
import { modelPath } from '../helpers/model-files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = modelPath('stories260K/stories260K.bin');
const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-prune-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const TEXT = join(tmp, 'story.txt');
writeFileSync(
  TEXT,
  'Once upon a time, there was a little girl named Lily. She liked to play in the park with her ball. ' +
    'One day, she saw a big dog. The dog was sad because it was lost. Lily helped the dog find its home, and they became friends.\n',
);

function kvtrim(...args: string[]) {
  const script = "import { main } from './src/cli/main.ts'; main(process.argv).catch((e) => { console.error('kvtrim: ' + e.message); process.exit(1); });";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'kvtrim', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('kvtrim prune writes a loadable checkpoint with a per-matrix summary; kvtrim perplexity scores it', async () => {
  const out = join(tmp, 'sgpt');
  const r = kvtrim('prune', '--model', MODEL, '--sparsity', '0.5', '--calib', TEXT, '--calib-samples', '3', '--seq-len', '24', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: SparseGPT is calibrated on \d+ tokens, fewer than the 172 inputs of the widest layer: its Hessian is rank-deficient/);
  assert.match(r.out, /model\.layers\.4\.mlp\.down_proj\.weight\s+64×172\s+50\.00%/);
  assert.match(r.out, /pruned matrices: 35, 113280 of 226560 weights zero \(50\.000%\)/);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.bin']) assert.ok(existsSync(join(out, f)), f);

  const p = kvtrim('perplexity', '--model', out, '--text', TEXT, '--window', '32', '--stride', '16');
  assert.equal(p.code, 0, p.err);
  const last = p.out.trim().split('\n').at(-1)!;
  const { model, tokenizer } = await loadModel(out);
  const want = perplexity(model, tokenizer.encode(readFileSync(TEXT, 'utf8')), { window: 32, stride: 16 }).perplexity;
  assert.equal(last, `perplexity: ${want.toFixed(4)}`);
});

test('kvtrim prune --method magnitude --pattern 2:4 needs no calibration', () => {
  const r = kvtrim('prune', '--model', MODEL, '--method', 'magnitude', '--pattern', '2:4', '--out', join(tmp, 'mag'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /pruned matrices: 35, 113280 of 226560 weights zero/);
  assert.doesNotMatch(r.err, /sampling|rank-deficient/, 'magnitude pruning has no Hessian to warn about');
});

test('kvtrim prune rejects bad options with clear messages', () => {
  const cases: [string[], RegExp][] = [
    [['--sparsity', '1.5'], /sparsity must be in \(0, 1\)/],
    [['--pattern', '2:3', '--method', 'magnitude'], /multiple of 3 inputs/],
    [['--sparsity', '0.5', '--method', 'obs'], /--method must be sparsegpt or magnitude/],
    [['--sparsity', '0.5', '--calib', join(tmp, 'story.txt'), '--seq-len', '4000'], /calibration text has \d+ tokens, a sample needs 3999/],
  ];
  for (const [args, message] of cases) {
    const r = kvtrim('prune', '--model', MODEL, ...args, '--out', join(tmp, 'never'));
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, message);
  }
  const taken = kvtrim('prune', '--model', MODEL, '--sparsity', '0.5', '--method', 'magnitude', '--out', TEXT);
  assert.match(taken.err, /not an empty directory/);
  assert.ok(!existsSync(join(tmp, 'never')));
});
