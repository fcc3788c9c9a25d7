import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { PROMPTS, alone, bytesPerPosition, startServer } from './server-fixture.js';

const MAX = 24;

test('16 concurrent clients all complete in shared batched steps, each with the greedy output it gets alone', async () => {
  const s = await startServer();
  try {
    const got = await Promise.all(PROMPTS.map((prompt) => s.client.completions.create({ model: 'kvtrim-tiny', prompt, max_tokens: MAX, temperature: 0 })));
    for (const [i, r] of got.entries()) assert.equal(r.choices[0]!.text, (await alone(PROMPTS[i]!, { maxTokens: MAX, temperature: 0 })).text, `client ${i}`);
    // Batched: the 16 sequences' 16 × (MAX + 1) forwards shared steps (one pass over the weights each).
    assert.ok(s.server.engine.steps <= 4 * (MAX + 1), `${s.server.engine.steps} engine steps for 16 × ${MAX + 1} forwards`);
    const m = await s.metrics();
    assert.equal(m.get('kvtrim_requests_total{status="200"}'), 16);
    assert.equal(m.get('kvtrim_running_sequences'), 0);
    assert.equal(m.get('kvtrim_kv_bytes_reserved'), 0);
  } finally {
    await s.close();
  }
});

test('a budget too small for all: some wait, each ends in its own output or a 429, and the budget is never exceeded', async () => {
  const perPosition = await bytesPerPosition();
  // Room for two of these requests at once (prompt + max tokens each), not three.
  const need = (await alone(PROMPTS[0]!, { maxTokens: 1 })).promptTokens + MAX;
  const budget = Math.floor(2.5 * need) * perPosition;
  for (const queueTimeoutMs of [30_000, 20]) {
    const s = await startServer({ kvBudgetBytes: budget, queueTimeoutMs });
    try {
      let queued = 0;
      const watching = (async () => {
        for (let i = 0; i < 50; i++) queued = Math.max(queued, (await s.metrics()).get('kvtrim_queue_depth')!);
      })();
      const results = await Promise.allSettled(
        PROMPTS.slice(0, 8).map((prompt) => s.client.completions.create({ model: 'kvtrim-tiny', prompt, max_tokens: MAX, temperature: 0 })),
      );
      await watching;
      let ok = 0;
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled') {
          ok++;
          assert.equal(r.value.choices[0]!.text, (await alone(PROMPTS[i]!, { maxTokens: MAX, temperature: 0 })).text);
        } else {
          assert.ok(r.reason instanceof OpenAI.APIError && r.reason.status === 429, String(r.reason));
        }
      }
      const m = await s.metrics();
      assert.ok(m.get('kvtrim_kv_bytes_reserved_peak')! <= budget, 'reservations within the budget');
      assert.ok(m.get('kvtrim_kv_bytes_used_peak')! <= budget, 'held bytes within the budget');
      assert.ok(m.get('kvtrim_kv_bytes_reserved_peak')! > need * perPosition, 'two ran at once');
      if (queueTimeoutMs === 30_000) {
        assert.equal(ok, 8, 'with a long wait every request finishes');
        assert.ok(queued > 0, 'some waited');
      } else assert.ok(ok >= 2 && ok < 8, `with a short wait some get 429 (${ok} finished)`);
    } finally {
      await s.close();
    }
  }
});

test('a client that aborts mid-stream is freed within one step; the others are unaffected', async () => {
  const s = await startServer();
  try {
    const others = PROMPTS.slice(1, 4).map((prompt) => s.client.completions.create({ model: 'kvtrim-tiny', prompt, max_tokens: 200, temperature: 0 }));
    const abort = new AbortController();
    const stream = await s.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[0]!, max_tokens: 200, temperature: 0, stream: true }, { signal: abort.signal });
    let chunks = 0;
    for await (const _ of stream) if (++chunks === 3) abort.abort();
    assert.equal(chunks, 3);
    const deadline = Date.now() + 5000;
    let m = await s.metrics();
    while (m.get('kvtrim_cancel_lag_steps_max') === 0 && m.get('kvtrim_running_sequences')! > 3 && Date.now() < deadline) m = await s.metrics();
    const texts = await Promise.all(others);
    m = await s.metrics();
    assert.ok(m.get('kvtrim_cancel_lag_steps_max')! <= 1, `freed ${m.get('kvtrim_cancel_lag_steps_max')} steps after the client left`);
    assert.ok(m.get('kvtrim_generated_tokens_total')! < 4 * 200, 'the aborted sequence stopped generating');
    for (const [i, r] of texts.entries()) assert.equal(r.choices[0]!.text, (await alone(PROMPTS[i + 1]!, { maxTokens: 200, temperature: 0 })).text);
    assert.equal(m.get('kvtrim_running_sequences'), 0);
    assert.equal(m.get('kvtrim_kv_bytes_used'), 0);
  } finally {
    await s.close();
  }
});
