import assert from 'node:assert/strict';
import { test } from 'node:test';
import { swiglu } from '../../src/kernels/swiglu.js';
import { oneAndTwoThreads, randoms, sameBits } from '../helpers/wasm-kernels.js';

const wasm = oneAndTwoThreads();

test('swiglu: the four-lane wasm kernel matches the TS twin on odd lengths and |g| up to 100 (1 and 2 threads, identical bits)', () => {
  for (const len of [1, 3, 5, 31, 1001, 1539]) {
    const r = randoms(len);
    const big = [100, -100, 88.5, -88.5, 87, -87, 0];
    const gate = Float32Array.from({ length: len }, (_, i) => (i % 7 === 3 ? big[i % big.length]! : r() * 10));
    const up = Float32Array.from({ length: len }, () => r() * 3);
    const [a, b, t] = [gate.slice(), gate.slice(), gate.slice()];
    wasm.one.swiglu(a, up, len);
    wasm.two.swiglu(b, up, len);
    swiglu(t, up, len);
    assert.ok(sameBits(a, b), `len ${len}: threads 1 vs 2 differ`);
    // Below g ≈ −87 the kernel's exp saturates: both results are then under 1e-35 in size.
    for (let i = 0; i < len; i++)
      assert.ok(Math.abs(a[i]! - t[i]!) <= 1e-5 * Math.abs(t[i]!) + 1e-30, `len ${len} [${i}]: silu(${gate[i]})·${up[i]} = ${a[i]} vs ${t[i]}`);
  }
});
