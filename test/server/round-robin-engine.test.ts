import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compression } from '../../src/press/compression.js';
import { KvBudget } from '../../src/server/kv-budget.js';
import { RoundRobinEngine } from '../../src/server/round-robin-engine.js';
import type { SequenceResult, SequenceSpec } from '../../src/server/sequence.js';
import { PROMPTS, alone, embeddedModel } from './server-fixture.js';

test('a sequence submitted while the last running one settles still runs to its end (the loop restarts for it)', async () => {
  const { model, tokenizer } = await embeddedModel();
  const engine = new RoundRobinEngine(model, tokenizer);
  const budget = new KvBudget(2 ** 26);
  const spec = async (prompt: string): Promise<SequenceSpec> => {
    const ids = tokenizer.encode(prompt, { addBos: true });
    return {
      prompt: ids,
      promptTokens: ids.length,
      compression: new Compression(),
      generate: { maxTokens: 6, temperature: 0 },
      reservation: await budget.reserve(1, { timeoutMs: 1000 }),
      signal: new AbortController().signal,
      onToken: () => {},
    };
  };
  const second = await spec(PROMPTS[1]!);
  // The first result settles inside the engine's last step; the second is submitted in that same turn,
  // as a request the freed budget admits is.
  const chained = engine.submit(await spec(PROMPTS[0]!)).then(() => engine.submit(second));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 20_000)));
  const r = await Promise.race([chained, deadline]);
  clearTimeout(timer);
  assert.notEqual(r, 'hung', 'the second sequence never ran');
  assert.equal((r as SequenceResult).completionTokens, (await alone(PROMPTS[1]!, { maxTokens: 6, temperature: 0 })).completionTokens);
  await engine.idle();
  assert.equal(engine.running, 0);
});
