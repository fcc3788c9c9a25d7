import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';
import { modelPath } from '../helpers/model-files.js';

const model = modelPath('stories260K/stories260K.gguf');
const cli = `import { main } from ${JSON.stringify(fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)))}; await main(process.argv.slice(0, 1).concat(process.argv.slice(1)));`;

function bench(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', cli, 'kvtrim', 'bench', '--model', model, ...args], { encoding: 'utf8', timeout: 120_000 });
}

before(() => ensureKernelsBuilt());

test('kvtrim bench --vs-llamacpp --json: the last line is one JSON object with both engines and their ratios', () => {
  const r = bench(['--threads', '1', '--prompt-tokens', '32', '--gen-tokens', '8', '--vs-llamacpp', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
  for (const engine of ['kvtrim', 'llamacpp'])
    for (const k of ['prefill_tps', 'decode_tps', 'peak_rss_mb']) assert.ok(last[engine]![k]! > 0, `${engine}.${k} = ${last[engine]![k]}`);
  assert.ok(Math.abs(last.ratio!.prefill! - last.kvtrim!.prefill_tps! / last.llamacpp!.prefill_tps!) < 1e-9);
  assert.ok(Math.abs(last.ratio!.decode! - last.kvtrim!.decode_tps! / last.llamacpp!.decode_tps!) < 1e-9);
});

test('kvtrim bench --batch 4 --vs-llamacpp: decode tok/s counts every sequence\'s tokens over the same wall time as the step times', () => {
  const r = bench(['--threads', '1', '--prompt-tokens', '16', '--gen-tokens', '6', '--batch', '4', '--vs-llamacpp', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
  for (const engine of ['kvtrim', 'llamacpp']) {
    const t = last[engine]!;
    assert.ok(t.step_ms! > 0, `${engine}.step_ms`);
    // 4 sequences × 6 tokens in 6 steps.
    assert.ok(Math.abs(t.decode_tps! - (4 * 6) / ((6 * t.step_ms!) / 1000)) < 1e-6 * t.decode_tps!, `${engine}: ${JSON.stringify(t)}`);
  }
});

test('kvtrim bench rejects bad numbers and a missing model with a clear message', () => {
  const r = bench(['--threads', '0']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--threads expects an integer of at least 1, got '0'/);
  const m = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', cli, 'kvtrim', 'bench', '--model', '/nonexistent.gguf', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(m.status, 0);
  assert.match(m.stderr, /nonexistent/);
});
