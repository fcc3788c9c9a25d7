import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type OpenAI from 'openai';
import { decodeCacheFile, encodeCacheFile, largestCacheFile } from '../../src/cache/cache-file.js';
import { kvQuantDefaults, type KvQuantOptions } from '../../src/cache/quantized-head-cache.js';
import { Session } from '../../src/generate/session.js';
import type { CompressionOptions } from '../../src/press/compression.js';
import { modelFingerprint } from '../../src/server/model-fingerprint.js';
import { SHOT, embeddedModel, startServer, type RunningServer } from './server-fixture.js';

const CONTEXT = `${SHOT}\n\nQ: Count from 12 to 19 by 1.\nA: 12,13,14,15,16,17,18,19\n\n`;
/** Longer than KIVI's full-precision residual (128), so a quantised prefix holds quantised blocks. */
const LONG_CONTEXT = `${CONTEXT}Q: Count from 50 to 61 by 1.\nA: 50,51,52,53,54,55,56,57,58,59,60,61\n\nQ: Count from 3 to 9 by 2.\nA: 3,5,7,9\n\n`;
const QUESTIONS = [0, 1, 2].map((i) => `Q: Count from ${30 + i} to ${90 + i} by 1.\nA:`);

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kvtrim-prefixes-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function post(s: RunningServer, path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

async function answers(s: RunningServer, prefixId: string): Promise<string[]> {
  const rs = await Promise.all(
    QUESTIONS.map((prompt) => s.client.completions.create({ model: 'kvtrim-tiny', prompt, max_tokens: 12, temperature: 0, kv_prefix: prefixId } as OpenAI.CompletionCreateParamsNonStreaming)),
  );
  return rs.map((r) => r.choices[0]!.text);
}

/** The reference: the context compressed (or quantised) in one session, then the question prefilled as is, decoded greedily. */
async function oneSession(context: string, question: string, compression: CompressionOptions | undefined, kvQuant: KvQuantOptions | undefined): Promise<string> {
  const { model, tokenizer } = await embeddedModel();
  const s = new Session(model, tokenizer, { compression, kvQuant });
  s.prefill(context);
  s.prefill(question, { compress: false });
  let text = '';
  for await (const t of s.generate({ maxTokens: 12, temperature: 0 })) text += t.text;
  s.free();
  return text;
}

for (const c of [
  { what: 'a SnapKV-compressed float32 prefix', body: { prompt: CONTEXT, kv_press: 'snapkv', kv_ratio: 0.5 }, compression: { press: 'snapkv', ratio: 0.5 }, kvQuant: undefined },
  { what: 'an int8 KIVI prefix', body: { prompt: LONG_CONTEXT, kv_quant: 'int8' }, compression: undefined, kvQuant: { bits: 8, ...kvQuantDefaults } as const },
]) {
  test(`save → restart → load: questions over ${c.what} give exactly the first server's outputs and the one-session output`, async () => {
    const dir = tempDir();
    const first = await startServer({ prefixDir: join(dir, 'saved') });
    let before: string[];
    let stored: Record<string, unknown>;
    try {
      stored = (await post(first, '/v1/kv/prefixes', c.body)).json;
      assert.ok((stored.kv_bytes as number) < (stored.kv_bytes_full as number), 'the prefix is stored compressed (pressed, or with quantised blocks)');
      before = await answers(first, stored.id as string);
      const saved = await post(first, `/v1/kv/prefixes/${stored.id as string}/save`, { name: 'few-shot.v1' });
      assert.equal(saved.status, 200, JSON.stringify(saved.json));
      assert.deepEqual(readdirSync(join(dir, 'saved')), ['few-shot.v1.kvprefix'], 'the folder is made on the first save and holds only the file');
      assert.equal(saved.json.bytes, readFileSync(join(dir, 'saved', 'few-shot.v1.kvprefix')).length);
    } finally {
      await first.close();
    }
    const second = await startServer({ prefixDir: join(dir, 'saved') });
    try {
      const loaded = await post(second, '/v1/kv/prefixes/load', { name: 'few-shot.v1' });
      assert.equal(loaded.status, 200, JSON.stringify(loaded.json));
      assert.notEqual(loaded.json.id, stored.id);
      for (const k of ['tokens', 'kv_bytes', 'kv_bytes_full', 'kv_press', 'kv_ratio']) assert.equal(loaded.json[k], stored[k], k);
      assert.equal(loaded.json.hits, 0);
      assert.equal((await second.metrics()).get('kvtrim_kv_bytes_reserved'), loaded.json.kv_bytes, 'the loaded prefix holds its bytes in the budget');
      const after = await answers(second, loaded.json.id as string);
      assert.deepEqual(after, before);
      for (const [i, q] of QUESTIONS.entries()) assert.equal(after[i], await oneSession(c.body.prompt, q, c.compression, c.kvQuant), `question ${i}`);
    } finally {
      await second.close();
    }
  });
}

test('the saved file is the cache the server held, with this model fingerprint and the prefix press', async () => {
  const dir = tempDir();
  const s = await startServer({ prefixDir: dir });
  try {
    const { model } = await embeddedModel();
    const stored = (await post(s, '/v1/kv/prefixes', { prompt: CONTEXT, kv_press: 'snapkv', kv_ratio: 0.5 })).json;
    await post(s, `/v1/kv/prefixes/${stored.id as string}/save`, { name: 'p' });
    const { cache, meta } = decodeCacheFile(readFileSync(join(dir, 'p.kvprefix')), { fingerprint: modelFingerprint(model), shape: model.config, vocabSize: model.config.vocabSize });
    assert.deepEqual(meta, { fingerprint: modelFingerprint(model), press: 'snapkv', ratio: 0.5 });
    assert.equal(cache.bytes(), stored.kv_bytes);
    assert.equal(cache.seen, stored.tokens);
  } finally {
    await s.close();
  }
});

test('names that are paths are 400; an unknown prefix or file is 404; an existing name is 409 unless overwrite', async () => {
  const dir = tempDir();
  const s = await startServer({ prefixDir: dir });
  try {
    const id = (await post(s, '/v1/kv/prefixes', { prompt: CONTEXT })).json.id as string;
    for (const name of ['../escape', 'a/b', '.hidden', 'sp ace', 'x'.repeat(129)]) {
      const r = await post(s, `/v1/kv/prefixes/${id}/save`, { name });
      assert.equal(r.status, 400, name);
      assert.equal((r.json.error as { param: string }).param, 'name', name);
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing was written');
    assert.equal((await post(s, '/v1/kv/prefixes/kvp-none/save', { name: 'a' })).status, 404);
    const missing = await post(s, '/v1/kv/prefixes/load', { name: 'absent' });
    assert.equal(missing.status, 404);
    assert.equal((missing.json.error as { code: string }).code, 'prefix_file_not_found');
    assert.equal((await post(s, `/v1/kv/prefixes/${id}/save`, { name: 'a' })).status, 200);
    const again = await post(s, `/v1/kv/prefixes/${id}/save`, { name: 'a' });
    assert.equal(again.status, 409);
    assert.equal((again.json.error as { code: string }).code, 'prefix_file_exists');
    assert.equal((await post(s, `/v1/kv/prefixes/${id}/save`, { name: 'a', overwrite: true })).status, 200);
    assert.deepEqual(readdirSync(dir), ['a.kvprefix'], 'no temporary file is left behind');
    assert.equal((await post(s, '/v1/kv/prefixes/load', { name: 'a', extra: 1 })).status, 400);
  } finally {
    await s.close();
  }
});

test("another model's file is 409, a corrupt file 400, a prefix over the whole budget 413 (a huge file unread); nothing stays reserved", async () => {
  const dir = tempDir();
  const { model } = await embeddedModel();
  const s = await startServer({ prefixDir: dir, kvBudgetBytes: 2 ** 20 });
  let prefixBytes = 0;
  try {
    const id = (await post(s, '/v1/kv/prefixes', { prompt: CONTEXT })).json.id as string;
    await post(s, `/v1/kv/prefixes/${id}/save`, { name: 'good' });
    const good = readFileSync(join(dir, 'good.kvprefix'));
    const { cache } = decodeCacheFile(good, { fingerprint: modelFingerprint(model), shape: model.config, vocabSize: model.config.vocabSize });
    prefixBytes = cache.bytes();
    writeFileSync(join(dir, 'other.kvprefix'), encodeCacheFile(cache, { fingerprint: 'sha256:another-model', press: null, ratio: 0 }));
    const other = await post(s, '/v1/kv/prefixes/load', { name: 'other' });
    assert.equal(other.status, 409);
    assert.equal((other.json.error as { code: string }).code, 'prefix_model_mismatch');
    assert.match((other.json.error as { message: string }).message, /another model/);
    writeFileSync(join(dir, 'cut.kvprefix'), good.subarray(0, good.length - 5));
    const cut = await post(s, '/v1/kv/prefixes/load', { name: 'cut' });
    assert.equal(cut.status, 400);
    assert.equal((cut.json.error as { code: string }).code, 'invalid_prefix_file');
    assert.match((cut.json.error as { message: string }).message, /cut\.kvprefix: truncated or corrupt/);
    // Far larger than any file whose cache fits 1 MiB: refused from its size, before it is read.
    const huge = join(dir, 'huge.kvprefix');
    writeFileSync(huge, '');
    truncateSync(huge, largestCacheFile(2 ** 20, model.config.maxSeqLen) + 1);
    assert.equal((await post(s, '/v1/kv/prefixes/load', { name: 'huge' })).status, 413);
    const reserved = (await s.metrics()).get('kvtrim_kv_bytes_reserved');
    assert.equal(reserved, prefixBytes, 'only the stored prefix is reserved');
  } finally {
    await s.close();
  }
  const small = await startServer({ prefixDir: dir, kvBudgetBytes: prefixBytes - 1 });
  try {
    const over = await post(small, '/v1/kv/prefixes/load', { name: 'good' });
    assert.equal(over.status, 413);
        assert.equal((await small.metrics()).get('kvtrim_kv_bytes_reserved'), 0);
  } finally {
    await small.close();
  }
});

