import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import type { ForwardHooks } from '../../src/model/hooks.js';
import { pressHooks } from '../../src/press/press-hooks.js';
import { createPress } from '../../src/press/registry.js';
import { createServer } from '../../src/server/create-server.js';
import { KvBudget } from '../../src/server/kv-budget.js';
import { PRESSURE_PRESSES, PressureRelief, type PressureReport } from '../../src/server/pressure-relief.js';
import { CHAT_TEMPLATE, PROMPTS, alone, bytesPerPosition, embeddedModel, startServer, type RunningServer } from './server-fixture.js';

const MAX = 24;

/** What a Session alone generates when its cache is capped as `report` says: the press with a budget of K from each cap's token on. */
async function aloneCapped(prompt: string, report: PressureReport): Promise<string> {
  const { model, tokenizer } = await embeddedModel();
  const session = new Session(model, tokenizer);
  const press = createPress(report.press);
  const ctx = { config: model.config, tokens: session.cache.tokens, segments: session.segments, tokenizer };
  let active: ForwardHooks | undefined;
  const hooks: ForwardHooks = {
    afterAttention(actx) {
      const cap = report.caps.find((c) => c.at_token === session.stats.generatedTokens);
      if (actx.layer === 0 && cap) active = pressHooks(press, { tokens: cap.kept_positions }, ctx);
      active?.afterAttention!(actx);
    },
  };
  session.prefill(prompt);
  let text = '';
  for await (const t of session.generate({ maxTokens: MAX, temperature: 0 }, hooks)) text += t.text;
  session.free();
  return text;
}

/** Sends the prompts at once; the engine runs in this process, so between its steps count the most sequences running together. */
async function runningAtOnce(s: RunningServer, prompts: readonly string[]) {
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, s.server.engine.running);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const got = await Promise.all(prompts.map((prompt) => s.client.completions.create({ model: 'kvtrim-tiny', prompt, max_tokens: MAX, temperature: 0 })));
  sampling = false;
  await sampler;
  return { got, most };
}

test('--on-pressure compress admits all 16 clients within a budget for 4: capped ones say so and match the capped run alone, the others their plain run, the budget is never exceeded', async () => {
  const perPosition = await bytesPerPosition();
  const need = (await alone(PROMPTS[0]!, { maxTokens: 1 })).promptTokens + MAX;
  const budget = 4 * need * perPosition;
  const floor = 16;
  const s = await startServer({ kvBudgetBytes: budget, queueTimeoutMs: 3000, onPressure: 'compress', pressureFloor: floor });
  try {
    const { got, most } = await runningAtOnce(s, PROMPTS);
    assert.equal(most, 16, 'all 16 ran at once (4 fit uncompressed)');
    let capped = 0;
    for (const [i, r] of got.entries()) {
      const { kv_pressure: pressure, kv_bytes } = r.usage as unknown as { kv_pressure?: PressureReport; kv_bytes: number };
      if (pressure === undefined) {
        assert.equal(r.choices[0]!.text, (await alone(PROMPTS[i]!, { maxTokens: MAX, temperature: 0 })).text, `uncapped client ${i}`);
        continue;
      }
      capped++;
      assert.equal(pressure.press, 'streamingllm');
      assert.ok(pressure.caps.length >= 1);
      assert.equal(pressure.compressed_at_token, pressure.caps[0]!.at_token);
      assert.equal(pressure.kept_positions, pressure.caps.at(-1)!.kept_positions);
      for (const [j, c] of pressure.caps.entries()) {
        assert.ok(c.kept_positions >= floor, `cap ${c.kept_positions} at or above the floor`);
        assert.ok(c.at_token >= 1 && c.at_token <= MAX);
if (j > 0) assert.ok(c.kept_positions < pressure.caps[j - 1]!.kept_positions && c.at_token > pressure.caps[j - 1]!.at_token, 'a later cap is tighter');
      }
      assert.ok(kv_bytes <= (pressure.kept_positions + 1) * perPosition, 'the cache ends within its cap');
      assert.equal(r.choices[0]!.text, await aloneCapped(PROMPTS[i]!, pressure), `capped client ${i}`);
    }
    assert.ok(capped > 0, 'some were capped');
    const m = await s.metrics();
    assert.equal(m.get('kvtrim_requests_total{status="200"}'), 16);
    assert.equal(m.get('kvtrim_pressure_compressed_total'), capped);
    assert.ok(m.get('kvtrim_kv_bytes_reserved_peak')! <= budget, 'reservations within the budget');
    assert.ok(m.get('kvtrim_kv_bytes_used_peak')! <= budget, 'held bytes within the budget');
    assert.equal(m.get('kvtrim_kv_bytes_reserved'), 0);
  } finally {
    await s.close();
  }
});

test('a request that capping every running sequence to the floor cannot admit waits as with queue, then finishes', async () => {
  const perPosition = await bytesPerPosition();
  const need = (await alone(PROMPTS[0]!, { maxTokens: 1 })).promptTokens + MAX;
  // Two fit; capping one to the floor frees too little for the third, so it waits for one to end.
  const s = await startServer({ kvBudgetBytes: 2 * need * perPosition + perPosition, onPressure: 'compress', pressureFloor: need - 4 });
  try {
    const { got, most } = await runningAtOnce(s, PROMPTS.slice(0, 3));
    assert.equal(most, 2, 'the third waited for one of the first two to end');
    for (const [i, r] of got.entries()) {
      assert.equal((r.usage as { kv_pressure?: unknown }).kv_pressure, undefined, `client ${i} not capped`);
      assert.equal(r.choices[0]!.text, (await alone(PROMPTS[i]!, { maxTokens: MAX, temperature: 0 })).text);
    }
    assert.equal((await s.metrics()).get('kvtrim_pressure_compressed_total'), 0);
  } finally {
    await s.close();
  }
});

test('under pressure the largest reservations are lowered to one common level, just enough for the waiters that capping can admit, and withdrawn if they leave first', async () => {
  const { model, tokenizer } = await embeddedModel();
  const p = await bytesPerPosition();
  for (const [floor, waiters, want] of [
    // 500 + 300 + 200 held of 1000: a waiter of 300 lowers the two largest to 250 positions each (K = 249).
    [16, [300], [250, 250, 200]],
    // Two waiters of 300: the three must fit in 1000 − 600, so all go down to 133 (3 × 133 = 399 ≤ 400).
    [16, [300, 300], [133, 133, 133]],
    // A floor of 260 frees at most 240 + 40: the waiter of 300 cannot be admitted, and nothing is capped.
    [259, [300], [500, 300, 200]],
  ] as const) {
    const budget = new KvBudget(1000 * p);
    const relief = new PressureRelief(budget, model.config, { floor });
    const caps = [];
    for (const positions of [500, 300, 200]) {
      const cap = relief.sequence(new Session(model, tokenizer), await budget.reserve(positions * p, { timeoutMs: 0 }));
      relief.decoding(cap);
      caps.push(cap);
    }
    const cancel = new AbortController();
    const waiting = waiters.map((n) => budget.reserve(n * p, { timeoutMs: 10_000, signal: cancel.signal }).catch(() => undefined));
    assert.deepEqual(caps.map((c) => c.bytesAfterCap() / p), want, `floor ${floor}, waiters ${waiters.join(', ')}`);
    assert.equal(budget.used, 1000 * p, 'nothing is given back before a step has compressed the caches');
    cancel.abort();
    await Promise.all(waiting);
    assert.deepEqual(caps.map((c) => c.bytesAfterCap() / p), [500, 300, 200], 'the waiters left before a step: the caps are withdrawn');
  }
});

test('a capped sequence never holds more than its cap in any head, and its storage shrinks with it: each pressure press, every step after the cap', async () => {
  const { model, tokenizer } = await embeddedModel();
  const perPosition = await bytesPerPosition();
  const K = 20;
  for (const press of PRESSURE_PRESSES) {
    const budget = new KvBudget(2 ** 26);
    const relief = new PressureRelief(budget, model.config, { press, floor: 8 });
    const session = new Session(model, tokenizer, { trackAttentionSums: relief.needsAttentionSums });
    const reservation = await budget.reserve(2 ** 20, { timeoutMs: 0 });
    const cap = relief.sequence(session, reservation);
    session.prefill(PROMPTS[0]!);
    const first = session.cache.seen;
    let steps = 0;
    const check: ForwardHooks = {
      afterAttention: (actx) => {
        cap.hooks.afterAttention!(actx);
        for (const h of actx.heads) assert.ok(h.length <= K, `${press}: a head holds ${h.length} > ${K}`);
        // StreamingLLM against its definition: the 4 sinks and the most recent K − 4 positions.
        if (press === 'streamingllm') {
          const newest = session.cache.seen; // the step's token, counted once the forward is done
          const want = [0, 1, 2, 3, ...Array.from({ length: K - 4 }, (_, i) => newest - (K - 5) + i)];
          for (const h of actx.heads) assert.deepEqual(Array.from(h.positions.subarray(0, h.length)), want);
        }
      },
    };
    cap.capAt(K);
    for await (const _ of session.generate({ maxTokens: 6, temperature: 0 }, check)) {
      if (steps++ === 0) continue;
      assert.ok(session.cache.bytes() <= K * perPosition, `${press}: ${session.cache.bytes()} bytes held`);
      assert.equal(reservation.bytes, (K + 1) * perPosition, `${press}: the reservation shrank to K + 1 positions`);
      // The storage shrank too (the prompt's heads had grown to 128 entries): at most one doubling past K.
      for (let l = 0; l < model.config.nLayers; l++) for (const h of session.cache.layer(l)) assert.ok(h.capacity <= 2 * K, `${press}: capacity ${h.capacity}`);
    }
    assert.ok(first > K);
    assert.equal(cap.report()!.kept_positions, K);
    reservation.release();
    session.free();
  }
});

test('bad pressure options are clear errors naming what is allowed', async () => {
  const { model, tokenizer } = await embeddedModel();
  const base = { model, tokenizer, kvBudgetBytes: 2 ** 20, chatTemplate: CHAT_TEMPLATE, log: () => {} };
  await assert.rejects(createServer({ ...base, onPressure: 'evict' as 'queue' }), /onPressure must be 'queue' or 'compress'/);
  await assert.rejects(createServer({ ...base, onPressure: 'compress', pressurePress: 'pyramidkv' }), /cannot cap a running sequence; one of: streamingllm, h2o/);
  await assert.rejects(createServer({ ...base, onPressure: 'compress', pressureFloor: 0 }), /pressure floor 0 must be a positive whole number/);
  await assert.rejects(createServer({ ...base, pressurePress: 'h2o' }), /need onPressure 'compress'/);
});
