import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchScheduler } from '../../src/generate/batch-scheduler.js';
import { planChunks } from '../../src/generate/chunk-plan.js';
import { Session, type GenerateOptions } from '../../src/generate/session.js';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm-backend.js';
import { defaultModelPath } from '../../src/model/default-model.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import { Model } from '../../src/model/model.js';
import type { CompressionOptions } from '../../src/press/compression.js';
import type { KvQuantOptions } from '../../src/cache/quantized-head-cache.js';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';

let backend: WasmBackend;
let tiny: LoadedModel;
before(async () => {
  ensureKernelsBuilt();
  backend = await createWasmBackend({ threads: 2, nativeGemm: false });
  tiny = await loadModel(defaultModelPath(), { backend });
});
after(() => backend.dispose());

interface Spec {
  prompt: string;
  gen: GenerateOptions;
  compression?: CompressionOptions;
  kvQuant?: KvQuantOptions;
}

const story = (i: number) => `Once upon a time there was a little ${['cat', 'dog', 'bird', 'fox'][i % 4]} who lived ${'near the big old tree '.repeat(1 + (i % 3))}and`;
const SPECS: Spec[] = [
  { prompt: story(0), gen: { maxTokens: 20, temperature: 0 } },
  { prompt: story(1), gen: { maxTokens: 7, temperature: 0 }, compression: { press: 'snapkv', ratio: 0.5 } },
  { prompt: story(2), gen: { maxTokens: 25, temperature: 0.8, seed: 5 } },
  { prompt: story(3), gen: { maxTokens: 12, temperature: 0 }, compression: { press: 'knorm', ratio: 0.3, decodePress: 'streamingllm', decodeRatio: 0.4 } },
  { prompt: story(4).repeat(6), gen: { maxTokens: 15, temperature: 0 }, compression: { press: 'snapkv', ratio: 0.6 } },
  { prompt: story(5), gen: { maxTokens: 18, temperature: 0, stop: [' the'] } },
  { prompt: story(6), gen: { maxTokens: 9, temperature: 0 }, kvQuant: { bits: 4, group: 32, residual: 32 } },
  { prompt: 'x', gen: { maxTokens: 5, temperature: 0 } },
];

interface Outcome {
  ids: number[];
  text: string;
  finish: string | undefined;
  seen: number;
  bytes: number;
}

async function alone(model: Model, s: Spec): Promise<Outcome> {
  const session = new Session(model, tiny.tokenizer, { compression: s.compression, kvQuant: s.kvQuant });
  session.prefill(s.prompt);
  const ids: number[] = [];
  let text = '';
  for await (const t of session.generate(s.gen)) {
    if (t.id >= 0) ids.push(t.id);
    text += t.text;
  }
  const out = { ids, text, finish: session.finish, seen: session.cache.seen, bytes: session.cache.bytes() };
  session.free();
  return out;
}

test('sequences joining and leaving mid-run (presses, KIVI, sampling, stop strings) get exactly the tokens and caches they get alone', async () => {
  const { model } = tiny;
  const want: Outcome[] = [];
  for (const s of SPECS) want.push(await alone(model, s));
  const scheduler = new BatchScheduler(model, { maxBatchTokens: 256, prefillChunk: 64 });
  const got: Promise<Outcome>[] = [];
  const start = (i: number) =>
    got.push(
      (async () => {
        const s = SPECS[i]!;
        const session = new Session(model, tiny.tokenizer, { compression: s.compression, kvQuant: s.kvQuant });
        const ids: number[] = [];
        let text = '';
        const finish = await scheduler.submit({
          session,
          prompt: s.prompt,
          generate: s.gen,
          onToken: (t) => {
            if (t.id >= 0) ids.push(t.id);
            text += t.text;
            // Later sequences join while these decode: after a sequence's 3rd token, the next waiting one starts.
            if (ids.length === 3 && got.length < SPECS.length) start(got.length);
          },
        });
        const out = { ids, text, finish, seen: session.cache.seen, bytes: session.cache.bytes() };
        session.free();
        return out;
      })(),
    );
  start(0);
  start(1);
  start(2);
  while (true) {
    const n = got.length;
    await Promise.all(got);
    if (got.length === n) break;
  }
  assert.equal(got.length, SPECS.length);
  const outcomes = await Promise.all(got);
  outcomes.forEach((o, i) => assert.deepEqual(o, want[i], `sequence ${i}`));
  assert.ok(scheduler.steps < want.reduce((a, w) => a + w.ids.length + 1, 0), `${scheduler.steps} steps: sequences shared steps`);
});

test('a cancelled sequence leaves at the next step; the others finish as alone', async () => {
  const { model } = tiny;
  const scheduler = new BatchScheduler(model, { prefillChunk: 64 });
  const stop = new AbortController();
  const a = new Session(model, tiny.tokenizer);
  const b = new Session(model, tiny.tokenizer);
  let seen = 0;
  const cancelled = scheduler.submit({ session: a, prompt: story(0), generate: { maxTokens: 50, temperature: 0 }, signal: stop.signal, onToken: () => ++seen === 4 && stop.abort() });
  const ids: number[] = [];
  const finished = scheduler.submit({ session: b, prompt: story(1), generate: { maxTokens: 20, temperature: 0 }, onToken: (t) => t.id >= 0 && ids.push(t.id) });
  assert.equal(await cancelled, 'cancelled');
  assert.equal(seen, 4);
  assert.equal(await finished, 'length');
  assert.deepEqual(ids, (await alone(model, { prompt: story(1), gen: { maxTokens: 20, temperature: 0 } })).ids);
  await scheduler.idle();
  assert.equal(scheduler.running, 0);
});

test('a prompt over the context is refused at submit; the scheduler keeps running', async () => {
  const { model } = tiny;
  const scheduler = new BatchScheduler(model);
  const session = new Session(model, tiny.tokenizer);
  await assert.rejects(scheduler.submit({ session, prompt: Array(model.config.maxSeqLen + 1).fill(5) }), /does not fit/);
  assert.equal(await scheduler.submit({ session: new Session(model, tiny.tokenizer), prompt: 'Once', generate: { maxTokens: 3 } }), 'length');
});

test('chunk plans: chunks start on multiples of 4, none is longer than the chunk size, the last holds at least size − 3 tokens', () => {
  for (const size of [64, 512])
    for (const n of [1, 63, 64, 65, 130, 511, 512, 513, 1000, 4093, 4096]) {
      const plan = planChunks(n, size);
      assert.equal(plan[0]!.from, 0);
      assert.equal(plan.at(-1)!.to, n);
      plan.forEach((c, i) => {
        assert.ok(c.to > c.from && c.to - c.from <= size, `${n}/${size}: chunk ${i} is ${c.to - c.from}`);
        assert.equal(c.from % 4, 0);
        if (i > 0) assert.equal(c.from, plan[i - 1]!.to);
      });
      assert.ok(plan.at(-1)!.to - plan.at(-1)!.from >= Math.min(n, size - 3), `${n}/${size}: last chunk`);
    }
  assert.throws(() => planChunks(100, 30), /multiple of 4 of at least 64/);
  assert.throws(() => new BatchScheduler(tiny.model, { prefillChunk: 512, maxBatchTokens: 100 }), /at least the prefill chunk/);
});

test('a 4k-token prompt prefilled in chunks of 512 never holds activations for more than one chunk, and gives the one-shot logits', async () => {
  // The embedded model's weights with a context long enough for 4k tokens (RoPE needs no table).
  const long = { ...tiny.checkpoint, config: { ...tiny.checkpoint.config, maxSeqLen: 4200 } };
  const chunked = Model.fromCheckpoint(long, { backend });
  const prompt = Array.from({ length: 4000 }, (_, i) => 3 + ((i * 7) % 90));
  const session = new Session(chunked, tiny.tokenizer);
  const scheduler = new BatchScheduler(chunked, { prefillChunk: 512, maxBatchTokens: 512 });
  const ids: number[] = [];
  await scheduler.submit({ session, prompt, generate: { maxTokens: 2, temperature: 0 }, onToken: (t) => t.id >= 0 && ids.push(t.id) });
  assert.equal(chunked.activationRows, 512, 'activation buffers sized for one chunk');
  const oneShot = Model.fromCheckpoint(long, { backend });
  const cache = oneShot.newCache();
  const logits = oneShot.forward(prompt, cache);
  assert.equal(oneShot.activationRows, 4000);
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  assert.equal(ids[0], best, 'the first token after the prompt');
  cache.free();
  session.free();
});

test('a sequence submitted as the last running one settles still runs to its end (the loop restarts for it)', async () => {
  const { model } = tiny;
  const scheduler = new BatchScheduler(model);
  const first = new Session(model, tiny.tokenizer);
  const second = new Session(model, tiny.tokenizer);
  // The first result settles inside the scheduler's last step; the second is submitted in that same turn.
  const chained = scheduler.submit({ session: first, prompt: story(0), generate: { maxTokens: 4, temperature: 0 } }).then(() =>
    scheduler.submit({ session: second, prompt: story(1), generate: { maxTokens: 4, temperature: 0 } }),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 20_000)));
  assert.equal(await Promise.race([chained, deadline]), 'length');
  clearTimeout(timer);
  assert.equal(second.stats.generatedTokens, 4);
});
