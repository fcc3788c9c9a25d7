import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { Session } from '../../src/generate/session.js';
import { SHOT, embeddedModel, startServer } from './server-fixture.js';

const CONTEXT = `${SHOT}\n\nQ: Count from 12 to 19 by 1.\nA: 12,13,14,15,16,17,18,19\n\n`;
const QUESTIONS = Array.from({ length: 10 }, (_, i) => `Q: Count from ${30 + i} to ${90 + i} by 1.\nA:`);

/** The reference: compress the context in one session, then prefill the question as is and decode greedily. */
async function overCompressedContext(question: string, maxTokens: number): Promise<string> {
  const { model, tokenizer } = await embeddedModel();
  const s = new Session(model, tokenizer, { compression: { press: 'snapkv', ratio: 0.5 } });
  s.prefill(CONTEXT);
  s.prefill(question, { compress: false });
  let text = '';
  for await (const t of s.generate({ maxTokens, temperature: 0 })) text += t.text;
  s.free();
  return text;
}

interface PrefixObject {
  id: string;
  tokens: number;
  kv_bytes: number;
  kv_bytes_full: number;
  hits: number;
}

test('a question over a stored compressed prefix gives exactly the one-session output; 10 requests share it; GET and DELETE', async () => {
  const s = await startServer();
  try {
    const post = await fetch(`${s.url}/v1/kv/prefixes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: CONTEXT, kv_press: 'snapkv', kv_ratio: 0.5 }),
    });
    assert.equal(post.status, 200);
    const prefix = (await post.json()) as PrefixObject;
    assert.ok(prefix.kv_bytes < prefix.kv_bytes_full && prefix.kv_bytes > 0.4 * prefix.kv_bytes_full, JSON.stringify(prefix));
    const answers = await Promise.all(
      QUESTIONS.map((prompt) => s.client.completions.create({ model: 'kvtrim-tiny', prompt, max_tokens: 12, temperature: 0, kv_prefix: prefix.id } as OpenAI.CompletionCreateParamsNonStreaming)),
    );
    for (const [i, r] of answers.entries()) {
      assert.equal(r.choices[0]!.text, await overCompressedContext(QUESTIONS[i]!, 12), `question ${i}`);
      const u = r.usage as unknown as Record<string, number>;
      assert.equal(u.kv_prefix_tokens, prefix.tokens);
      assert.equal(u.prompt_tokens, (await embeddedModel()).tokenizer.encode(QUESTIONS[i]!, { addBos: false }).length, 'the request pays for its question only');
    }
    const m = await s.metrics();
    assert.equal(m.get('kvtrim_prefix_hits_total'), 10);
    assert.equal(m.get('kvtrim_prefix_bytes'), prefix.kv_bytes, 'the stored prefix is counted once');
    assert.equal(m.get('kvtrim_kv_bytes_reserved'), prefix.kv_bytes);
    const listed = (await (await fetch(`${s.url}/v1/kv/prefixes`)).json()) as { data: PrefixObject[] };
    assert.deepEqual(
      listed.data.map((p) => [p.id, p.hits]),
      [[prefix.id, 10]],
    );
    assert.equal((await fetch(`${s.url}/v1/kv/prefixes/${prefix.id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await fetch(`${s.url}/v1/kv/prefixes/${prefix.id}`)).status, 404);
    assert.equal((await s.metrics()).get('kvtrim_kv_bytes_reserved'), 0);
    const gone = await s.client.completions.create({ model: 'kvtrim-tiny', prompt: 'x', kv_prefix: prefix.id } as OpenAI.CompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    assert.ok(gone instanceof OpenAI.APIError && gone.status === 404 && gone.param === 'kv_prefix');
  } finally {
    await s.close();
  }
});

test('a request over a prefix refuses its own prefill press; a prefix needs exactly one of prompt and messages', async () => {
  const s = await startServer();
  try {
    const prefix = (await (
      await fetch(`${s.url}/v1/kv/prefixes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: CONTEXT }) })
    ).json()) as PrefixObject;
    assert.equal(prefix.kv_bytes, prefix.kv_bytes_full);
    const e = await s.client.completions.create({ model: 'kvtrim-tiny', prompt: 'x', kv_prefix: prefix.id, kv_press: 'knorm' } as OpenAI.CompletionCreateParamsNonStreaming).catch((x: unknown) => x);
    assert.ok(e instanceof OpenAI.APIError && e.status === 400 && e.param === 'kv_press');
    const both = await fetch(`${s.url}/v1/kv/prefixes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a', messages: [{ role: 'user', content: 'b' }] }),
    });
    assert.equal(both.status, 400);
  } finally {
    await s.close();
  }
});
