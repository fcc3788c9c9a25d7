import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { PROMPTS, SHOT, alone, bytesPerPosition, startServer, type RunningServer } from './server-fixture.js';

let s: RunningServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

/** The error an API call fails with (the call must fail). */
async function failure(call: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call();
  } catch (e) {
    if (e instanceof OpenAI.APIError) return e;
    throw e;
  }
  throw new assert.AssertionError({ message: 'the call succeeded' });
}

test('a greedy completion is what one session alone generates, and its usage counts tokens and KV bytes', async () => {
  const r = await s.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[0]!, max_tokens: 10, temperature: 0 });
  const want = await alone(PROMPTS[0]!, { maxTokens: 10, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0]!.text, want.text);
  assert.equal(r.choices[0]!.finish_reason, 'length');
  const u = r.usage as unknown as Record<string, number>;
  assert.equal(u.prompt_tokens, want.promptTokens);
  assert.equal(u.completion_tokens, 10);
  assert.equal(u.total_tokens, want.promptTokens + 10);
  // Every position after prefill is one float32 entry per layer and KV head: the prompt and each generated token stepped.
  assert.equal(u.kv_bytes, (want.promptTokens + 10) * (await bytesPerPosition()));
  assert.equal(u.kv_bytes_full, u.kv_bytes);
  assert.equal(u.prefill_kept, 1);
});

test('chat renders the messages with the template; streaming sends the role, the deltas, the finish, the usage and [DONE]', async () => {
  const question = 'Q: Count from 51 to 90 by 1.\nA:';
  const messages = [
    { role: 'system' as const, content: SHOT },
    { role: 'user' as const, content: question },
  ];
  const prompt = `${SHOT}\n\n${question}`;
  const want = await alone(prompt, { maxTokens: 8, temperature: 0 });
  const r = await s.client.chat.completions.create({ model: 'kvtrim-tiny', messages, max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0]!.message.content, want.text);
  assert.equal(r.usage!.prompt_tokens, want.promptTokens);

  const stream = await s.client.chat.completions.create({
    model: 'kvtrim-tiny',
    messages,
    max_completion_tokens: 8,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
  assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), want.text);
  assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, 'length');
  assert.deepEqual(chunks.at(-1)!.choices, []);
  assert.equal(chunks.at(-1)!.usage!.completion_tokens, 8);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null), 'usage only on the last chunk');

  const raw = await fetch(`${s.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'kvtrim-tiny', prompt: PROMPTS[1], max_tokens: 4, temperature: 0, stream: true }),
  });
  assert.match(raw.headers.get('content-type')!, /^text\/event-stream/);
  const events = (await raw.text()).split('\n\n').filter((e) => e !== '');
  assert.equal(events.at(-1), 'data: [DONE]');
  const texts = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as { choices: { text: string }[]; usage?: unknown });
  assert.equal(texts.map((t) => t.choices[0]!.text).join(''), (await alone(PROMPTS[1]!, { maxTokens: 4, temperature: 0 })).text);
  assert.ok(texts.every((t) => !('usage' in t)), 'no usage without include_usage');
});

test('stop strings end the text before them; a seed makes sampling repeatable', async () => {
  const plain = await alone(PROMPTS[2]!, { maxTokens: 12, temperature: 0 });
  const stopAt = plain.text.slice(3, 5);
  const r = await s.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[2]!, max_tokens: 12, temperature: 0, stop: [stopAt] });
  assert.equal(r.choices[0]!.text, plain.text.slice(0, plain.text.indexOf(stopAt)));
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  const sampled = () => s.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[3]!, max_tokens: 12, temperature: 1.2, top_p: 0.9, seed: 7 });
  const [a, b] = await Promise.all([sampled(), sampled()]);
  assert.equal(a.choices[0]!.text, b.choices[0]!.text);
  assert.equal(a.choices[0]!.text, (await alone(PROMPTS[3]!, { maxTokens: 12, temperature: 1.2, topP: 0.9, seed: 7 })).text);
});

test('kv_press and kv_ratio compress the prompt as a session with that compression does, and usage shows it', async () => {
  const prompt = PROMPTS.slice(0, 4).join(' ');
  const body = { model: 'kvtrim-tiny', prompt, max_tokens: 6, temperature: 0, kv_press: 'snapkv', kv_ratio: 0.5 };
  const r = await s.client.completions.create(body as OpenAI.CompletionCreateParamsNonStreaming);
  const want = await alone(prompt, { maxTokens: 6, temperature: 0 }, { press: 'snapkv', ratio: 0.5 });
  const u = r.usage as unknown as Record<string, number>;
  assert.equal(r.choices[0]!.text, want.text);
  assert.equal(u.kv_bytes, want.kvBytes);
  assert.ok(u.kv_bytes < u.kv_bytes_full);
  assert.equal(u.prefill_kept, want.kept);
  assert.ok(u.prefill_kept > 0.45 && u.prefill_kept < 0.55, `kept ${u.prefill_kept}`);
});

test('bad requests get 400 naming the field: unknown and unsupported fields, wrong types, unknown press, bad ratio, over-long max_tokens', async () => {
  const base = { model: 'kvtrim-tiny', prompt: 'x' };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ ...base, logprobs: 2 }, 'logprobs', /not supported/],
    [{ ...base, presence_penalty: 0.5 }, 'presence_penalty', /not supported/],
    [{ ...base, frobnicate: true }, 'frobnicate', /not a known field/],
    [{ ...base, max_tokens: '5' }, 'max_tokens', /integer/],
    [{ ...base, max_tokens: 5000 }, 'max_tokens', /context/],
    [{ ...base, temperature: 3 }, 'temperature', /<= 2/],
    [{ ...base, n: 2 }, 'n', /<= 1/],
    [{ model: 'kvtrim-tiny' }, 'prompt', /required/],
    [{ ...base, prompt: [1, 2, 9999] }, 'prompt', /vocabulary/],
    [{ ...base, kv_press: 'bogus' }, 'kv_press', /unknown press 'bogus'/],
    [{ ...base, kv_press: 'snapkv', kv_ratio: 1 }, 'kv_ratio', /\[0, 1\)/],
    [{ ...base, kv_ratio: 0.5 }, 'kv_ratio', /needs kv_press/],
    [{ ...base, kv_press: 'snapkv', kv_press_params: { nope: 1 } }, 'kv_press_params', /no parameter 'nope'/],
    [{ ...base, kv_decode_press: 'h2o', kv_decode_ratio: -0.1 }, 'kv_decode_ratio', /\[0, 1\)/],
    [{ ...base, kv_quant: 'int3' }, 'kv_quant', /allowed values/],
  ];
  for (const [body, param, message] of cases) {
    const e = await failure(() => s.client.completions.create(body as never));
    assert.equal(e.status, 400, JSON.stringify(body));
    assert.equal(e.param, param, JSON.stringify(body));
    assert.match(e.message, message);
    assert.equal(e.type, 'invalid_request_error');
  }
  const chat = await failure(() => s.client.chat.completions.create({ model: 'kvtrim-tiny', messages: [{ role: 'tool', content: 'x' }] } as never));
  assert.equal(chat.param, 'messages[0].role');
  for (const body of ['{"model": "kvtrim-tiny", "prompt": ', '{"__proto__": {"x": 1}, "model": "kvtrim-tiny", "prompt": "x"}', '[1, 2]']) {
    const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(r.status, 400, body);
    assert.equal(((await r.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  }
});

test('an unknown model and an unknown route are 404; /v1/models lists the one model; /health answers', async () => {
  const e = await failure(() => s.client.completions.create({ model: 'gpt-4', prompt: 'x' }));
  assert.equal(e.status, 404);
  assert.equal(e.code, 'model_not_found');
  const models = await s.client.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['kvtrim-tiny'],
  );
  const nf = await fetch(`${s.url}/v1/nothing`);
  assert.equal(nf.status, 404);
  assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'not_found');
  assert.deepEqual(await (await fetch(`${s.url}/health`)).json(), { status: 'ok', model: 'kvtrim-tiny', running: 0, waiting: 0 });
});

test('a body over the size limit and a request over the whole KV budget are 413 at once', async () => {
  const small = await startServer({ bodyLimitBytes: 1000, kvBudgetBytes: 20 * (await bytesPerPosition()) });
  try {
    const big = await failure(() => small.client.completions.create({ model: 'kvtrim-tiny', prompt: 'x'.repeat(2000) }));
    assert.equal(big.status, 413);
    const t0 = performance.now();
    const over = await failure(() => small.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[0]!, max_tokens: 10 }));
    assert.equal(over.status, 413);
    assert.equal(over.code, 'kv_budget_exceeded');
    assert.ok(performance.now() - t0 < 1000, 'refused without waiting');
  } finally {
    await small.close();
  }
});

test('with the budget held, a request that does not fit waits the queue timeout, then gets 429 with Retry-After; freed, it runs', async () => {
  const perPosition = await bytesPerPosition();
  const need = (await alone(PROMPTS[1]!, { maxTokens: 1 })).promptTokens + 100;
  const prefixTokens = (await alone(PROMPTS[0]!, { maxTokens: 1 })).promptTokens;
  // A stored prefix holds its bytes until deleted: what is left is less than the request needs, the whole budget more.
  const busy = await startServer({ kvBudgetBytes: (prefixTokens + need - 10) * perPosition, queueTimeoutMs: 300 });
  try {
    const post = async (path: string, body: object) =>
      fetch(`${busy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const stored = await post('/v1/kv/prefixes', { model: 'kvtrim-tiny', prompt: PROMPTS[0] });
    assert.equal(stored.status, 200, await stored.clone().text());
    const held = (await stored.json()) as { id: string; kv_bytes: number };
    assert.equal(held.kv_bytes, prefixTokens * perPosition);
    const request = { model: 'kvtrim-tiny', prompt: PROMPTS[1], max_tokens: 100, temperature: 0 };
    const t0 = performance.now();
    const r = await post('/v1/completions', request);
    assert.equal(r.status, 429);
    assert.ok(performance.now() - t0 >= 290, 'it waited for room first');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal(((await r.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.equal((await fetch(`${busy.url}/v1/kv/prefixes/${held.id}`, { method: 'DELETE' })).status, 200);
    const freed = await post('/v1/completions', request);
    assert.equal(freed.status, 200);
    assert.equal(((await freed.json()) as { choices: { text: string }[] }).choices[0]!.text, (await alone(PROMPTS[1]!, { maxTokens: 100, temperature: 0 })).text);
  } finally {
    await busy.close();
  }
});

test('with an API key, a missing or wrong key is 401 and the right one passes; /health needs none', async () => {
  const keyed = await startServer({ apiKey: 'sesame' }, 'sesame');
  try {
    const ok = await keyed.client.completions.create({ model: 'kvtrim-tiny', prompt: 'x', max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
    const wrong = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'open', maxRetries: 0 });
    const e = await failure(() => wrong.models.list());
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    assert.equal((await fetch(`${keyed.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${keyed.url}/health`)).status, 200);
  } finally {
    await keyed.close();
  }
});

test('shutting down: new requests get 503, a running one finishes within the grace period, close resolves', async () => {
  const down = await startServer({ graceMs: 5000 });
  const running = down.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[4]!, max_tokens: 40, temperature: 0 });
  await new Promise((r) => setTimeout(r, 20));
  const closed = down.close();
  const e = await failure(() => down.client.completions.create({ model: 'kvtrim-tiny', prompt: 'x' }));
  assert.equal(e.status, 503);
  assert.equal(e.code, 'shutting_down');
  assert.equal((await running).choices[0]!.text, (await alone(PROMPTS[4]!, { maxTokens: 40, temperature: 0 })).text);
  await closed;
});

test('past the grace period, running requests are cancelled and the stream ends with an error event', async () => {
  const down = await startServer({ graceMs: 50 });
  const stream = await down.client.completions.create({ model: 'kvtrim-tiny', prompt: PROMPTS[5]!, max_tokens: 1000, temperature: 0, stream: true });
  const closed = down.close();
  const e = await failure(async () => {
    for await (const _ of stream);
  });
  assert.match(e.message, /shutting down/);
  await closed;
  assert.equal(down.server.engine.running, 0);
});
