import type { FastifyInstance } from 'fastify';
import { decodeCacheFile, encodeCacheFile, ForeignCacheError, largestCacheFile } from '../cache/cache-file.js';
import { FormatError } from '../formats/format-error.js';
import { Session } from '../generate/session.js';
import { tokenisePrompt } from '../generate/tokenise-prompt.js';
import { splitShots } from '../press/split-shots.js';
import { ApiError, badField } from './api-error.js';
import type { ApiMessage } from './chat-messages.js';
import { kvBytesPerToken } from './kv-bytes.js';
import { modelFingerprint } from './model-fingerprint.js';
import { readPrefixFile, writePrefixFile } from './prefix-files.js';
import type { StoredPrefix } from './prefix-store.js';
import { compressionOptions, type CompressionFields } from './request-options.js';
import { prefixLoadSchema, prefixSaveSchema, prefixSchema } from './request-schemas.js';
import { admissionError } from './serve-generation.js';
import { checkModel, type ServerContext } from './server-context.js';

interface PrefixBody extends CompressionFields {
  model?: string;
  prompt?: string;
  messages?: ApiMessage[];
}

/** A stored prefix as the API shows it. */
function prefixObject(p: StoredPrefix): object {
  return {
    id: p.id,
    object: 'kv.prefix',
    created: p.createdAt,
    tokens: p.tokens,
    kv_bytes: p.cache.bytes(),
    kv_bytes_full: p.cache.fullBytes(),
    kv_press: p.press ?? null,
    kv_ratio: p.ratio,
    hits: p.hits,
  };
}

/**
 * Explicit compressed prefixes: POST prefills and compresses a context once (question-agnostic) and
 * stores its cache under the KV budget; requests name it in `kv_prefix`. GET lists, DELETE drops.
 * `/{id}/save` writes one to `<prefixDir>/<name>.kvprefix` (docs/prefix-file-format.md) and `load`
 * reads one back, for this model only, as a new stored prefix.
 */
export function prefixRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/kv/prefixes', { schema: { body: prefixSchema } }, async (req) => {
    const body = req.body as PrefixBody;
    checkModel(ctx, body.model);
    if ((body.prompt === undefined) === (body.messages === undefined)) throw badField('prompt', 'send exactly one of prompt and messages');
    // A chat prefix is the conversation so far, without the assistant's turn (the request's messages add it).
    const text = body.prompt ?? ctx.chat.render(body.messages!);
    const { compression, kvQuant } = compressionOptions(body, ctx);
    const segments = compression.press?.usesShots ? splitShots(text) : undefined;
    const ids = tokenisePrompt(ctx.tokenizer, text, segments, 0).ids;
    if (ids.length >= ctx.model.config.maxSeqLen)
      throw badField(body.prompt !== undefined ? 'prompt' : 'messages', `${ids.length} tokens leave no room in the model's context of ${ctx.model.config.maxSeqLen}`);
    const signal = ctx.shutdown.signal;
    let reservation;
    try {
      reservation = await ctx.budget.reserve(ids.length * kvBytesPerToken(ctx.model.config), { timeoutMs: ctx.queueTimeoutMs, signal });
    } catch (e) {
      throw admissionError(e, signal);
    }
    const session = new Session(ctx.model, ctx.tokenizer, { compression, kvQuant });
    try {
      session.prefill(segments ? text : ids, { segments });
    } catch (e) {
      session.free();
      reservation.release();
      throw e;
    }
    reservation.shrink(session.cache.bytes());
    ctx.metrics.prefilled(ids.length, ctx.engine.heldBytes() + ctx.prefixes.bytes() + session.cache.bytes());
    const stored = ctx.prefixes.add({ cache: session.cache, tokens: session.cache.seen, press: compression.press?.name, ratio: compression.ratio, reservation });
    ctx.logNotes.set(req, `prefix=${stored.id} tokens=${stored.tokens} kv_bytes=${stored.cache.bytes()}`);
    return prefixObject(stored);
  });

  app.post<{ Params: { id: string }; Body: { name: string; overwrite?: boolean } }>('/v1/kv/prefixes/:id/save', { schema: { body: prefixSaveSchema } }, async (req) => {
    const p = found(ctx, req.params.id);
    const bytes = encodeCacheFile(p.cache, { fingerprint: modelFingerprint(ctx.model), press: p.press ?? null, ratio: p.ratio });
    await writePrefixFile(ctx.prefixDir, req.body.name, bytes, req.body.overwrite ?? false);
    ctx.logNotes.set(req, `prefix=${p.id} saved=${req.body.name} bytes=${bytes.length}`);
    return { id: p.id, object: 'kv.prefix.file', name: req.body.name, bytes: bytes.length };
  });

  app.post<{ Body: { model?: string; name: string } }>('/v1/kv/prefixes/load', { schema: { body: prefixLoadSchema } }, async (req) => {
    checkModel(ctx, req.body.model);
    const { name } = req.body;
    const { config } = ctx.model;
    // A larger file cannot hold a cache that fits the budget (or the context), so it is not read.
    const largest = largestCacheFile(ctx.budget.totalBytes, config.maxSeqLen);
    const bytes = await readPrefixFile(ctx.prefixDir, name, largest, (size) => `saved prefix '${name}' (${size} bytes) holds more than the server's whole KV budget of ${ctx.budget.totalBytes} bytes`);
    let cache;
    let meta;
    try {
      ({ cache, meta } = decodeCacheFile(bytes, { fingerprint: modelFingerprint(ctx.model), shape: config, vocabSize: config.vocabSize, storage: ctx.model.backend.cacheStorage }, `${name}.kvprefix`));
    } catch (e) {
      if (e instanceof ForeignCacheError) throw new ApiError(409, e.message, { param: 'name', code: 'prefix_model_mismatch' });
      if (e instanceof FormatError) throw new ApiError(400, e.message, { param: 'name', code: 'invalid_prefix_file' });
      throw e;
    }
    if (cache.seen >= config.maxSeqLen) {
      cache.free();
      throw badField('name', `saved prefix '${name}' covers ${cache.seen} positions, leaving no room in the model's context of ${config.maxSeqLen}`);
    }
    const signal = ctx.shutdown.signal;
    let reservation;
    try {
      reservation = await ctx.budget.reserve(cache.bytes(), { timeoutMs: ctx.queueTimeoutMs, signal });
    } catch (e) {
      cache.free();
      throw admissionError(e, signal);
    }
    const stored = ctx.prefixes.add({ cache, tokens: cache.seen, press: meta.press ?? undefined, ratio: meta.ratio, reservation });
    ctx.logNotes.set(req, `prefix=${stored.id} loaded=${name} tokens=${stored.tokens} kv_bytes=${stored.cache.bytes()}`);
    return prefixObject(stored);
  });

  app.get('/v1/kv/prefixes', async () => ({ object: 'list', data: ctx.prefixes.list().map(prefixObject) }));

  app.get<{ Params: { id: string } }>('/v1/kv/prefixes/:id', async (req) => prefixObject(found(ctx, req.params.id)));

  app.delete<{ Params: { id: string } }>('/v1/kv/prefixes/:id', async (req) => {
    const p = found(ctx, req.params.id);
    ctx.prefixes.delete(p.id);
    return { id: p.id, object: 'kv.prefix', deleted: true };
  });
}

function found(ctx: ServerContext, id: string): StoredPrefix {
  const p = ctx.prefixes.get(id);
  if (!p) throw new ApiError(404, `no stored prefix '${id}'`, { code: 'prefix_not_found' });
  return p;
}
