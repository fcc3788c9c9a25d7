import { createHash, timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { ApiError } from './api-error.js';
import { ChatRenderer } from './chat-messages.js';
import { completionRoutes } from './completion-routes.js';
import type { Engine } from './engine.js';
import { infoRoutes } from './info-routes.js';
import { KvBudget } from './kv-budget.js';
import { prefixRoutes } from './prefix-routes.js';
import { PressureRelief } from './pressure-relief.js';
import { PrefixStore } from './prefix-store.js';
import { UNSUPPORTED } from './request-schemas.js';
import { BatchEngine } from './batch-engine.js';
import { shuttingDown } from './serve-generation.js';
import type { ServerContext } from './server-context.js';
import { ServerMetrics } from './server-metrics.js';

export interface ServerOptions {
  model: Model;
  tokenizer: Tokenizer;
  /** The id clients name in `model` (default 'kvtrim'). */
  modelName?: string;
  /** One KV byte budget for every running sequence and stored prefix. */
  kvBudgetBytes: number;
  /** Most tokens one engine step processes: every decoding sequence's token, then prompt chunks (default 2048). */
  maxBatchTokens?: number;
  /** When set, /v1/ requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** A Jinja chat template for a model that has none (its source text). */
  chatTemplate?: string;
  /** How long a request waits for KV room before a 429 (default 30 s). */
  queueTimeoutMs?: number;
  /** How long a request may run in all (default 10 min). */
  requestTimeoutMs?: number;
  /** Largest request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** On shutdown, how long running requests may finish before they are cancelled (default 10 s). */
  graceMs?: number;
  /** The folder saved prefixes are written to and loaded from (default ./prefixes, made on the first save). */
  prefixDir?: string;
  /** Where the one line per request goes (default stderr). */
  log?: (line: string) => void;
  /**
   * When a request does not fit: wait in line (queue, the default), or compress the largest running
   * sequences with a decoding press to make room (compress; usage.kv_pressure says which were).
   */
  onPressure?: 'queue' | 'compress';
  /** With compress: the press that caps running sequences (default streamingllm; see PRESSURE_PRESSES). */
  pressurePress?: string;
  /** With compress: the fewest positions a capped sequence keeps (default 64). */
  pressureFloor?: number;
}

export interface KvtrimServer {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  /** Starts listening; resolves to the address (http://host:port). */
  listen(opts: { host?: string; port?: number }): Promise<string>;
  /**
   * Shuts down: new and waiting requests get 503, running ones get the grace period to finish and
   * are then cancelled, stored prefixes are freed, and the HTTP server closes.
   */
  close(): Promise<void>;
}

/** An OpenAI-compatible HTTP server over one model, with every sequence's KV cache under one byte budget. */
export async function createServer(opts: ServerOptions): Promise<KvtrimServer> {
  const started = Math.floor(Date.now() / 1000);
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const budget = new KvBudget(opts.kvBudgetBytes);
  const onPressure = opts.onPressure ?? 'queue';
  if (onPressure !== 'queue' && onPressure !== 'compress') throw new RangeError(`onPressure must be 'queue' or 'compress', not '${String(onPressure)}'`);
  if (onPressure === 'queue' && (opts.pressurePress !== undefined || opts.pressureFloor !== undefined))
    throw new RangeError("pressurePress and pressureFloor need onPressure 'compress'");
  const pressure =
    onPressure === 'compress' ? new PressureRelief(budget, opts.model.config, { press: opts.pressurePress, floor: opts.pressureFloor }) : undefined;
  const engine = new BatchEngine(opts.model, opts.tokenizer, { maxBatchTokens: opts.maxBatchTokens, pressure });
  const ctx: ServerContext = {
    model: opts.model,
    tokenizer: opts.tokenizer,
    modelName: opts.modelName ?? 'kvtrim',
    engine,
    budget,
    prefixes: new PrefixStore(),
    prefixDir: resolve(opts.prefixDir ?? 'prefixes'),
    metrics: new ServerMetrics(),
    chat: new ChatRenderer(opts.tokenizer, opts.chatTemplate),
    queueTimeoutMs: opts.queueTimeoutMs ?? 30_000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 600_000,
    shutdown: new AbortController(),
    draining: false,
    logNotes: new WeakMap(),
  };
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimitBytes ?? 1 << 20,
    // Strict bodies: no type coercion, no silently dropped fields, no defaults filled in.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    return503OnClosing: false,
  });

  const keyDigest = opts.apiKey === undefined ? undefined : digest(opts.apiKey);
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1/')) return;
    if (keyDigest) {
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (given === undefined) throw new ApiError(401, 'missing API key: send Authorization: Bearer <key>', { code: 'invalid_api_key' });
      if (!timingSafeEqual(digest(given), keyDigest)) throw new ApiError(401, 'incorrect API key', { code: 'invalid_api_key' });
    }
    if (ctx.draining) throw shuttingDown();
  });
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.request(reply.statusCode);
    const note = ctx.logNotes.get(req);
    log(`${new Date().toISOString()} ${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(0)}ms${note ? ' ' + note : ''}`);
  });
  app.setErrorHandler((err: FastifyError | ApiError, _req, reply) => {
    const api = apiErrorOf(err);
    if (api.status >= 500 && !(err instanceof ApiError)) log(`error: ${err.stack ?? err.message}`);
    if (api.opts.retryAfterS !== undefined) reply.header('retry-after', String(api.opts.retryAfterS));
    return reply.code(api.status).send(api.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, `no route ${req.method} ${req.url}`, { code: 'not_found' });
    return reply.code(404).send(e.body());
  });

  completionRoutes(app, ctx);
  prefixRoutes(app, ctx);
  infoRoutes(app, ctx, started);
  await app.ready();

  let closing: Promise<void> | undefined;
  return {
    app,
    engine,
    listen: ({ host = '127.0.0.1', port = 8080 }) => app.listen({ host, port }),
    close: () =>
      (closing ??= (async () => {
        ctx.draining = true;
        ctx.budget.refuseWaiting('the server is shutting down');
        await within(engine.idle(), opts.graceMs ?? 10_000);
        ctx.shutdown.abort('shutdown');
        await engine.idle();
        for (const p of ctx.prefixes.list()) ctx.prefixes.delete(p.id);
        await app.close();
      })()),
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Resolves when `p` does or after `ms`, whichever is first (and leaves no timer behind). */
async function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Every failure as an OpenAI error: schema violations name their field, fastify's own errors keep their status. */
function apiErrorOf(err: FastifyError | ApiError): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation && err.validation.length > 0) {
    const v = err.validation[0]!;
    const path = fieldPath(v.instancePath);
    const params = v.params as { additionalProperty?: string; missingProperty?: string };
    if (v.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
      const name = params.additionalProperty;
      const param = path ? `${path}.${name}` : name;
      const why = !path && UNSUPPORTED.has(name) ? 'is not supported by kvtrim serve' : 'is not a known field';
      return new ApiError(400, `${param}: ${why}`, { param, code: 'unsupported_parameter' });
    }
    if (v.keyword === 'required' && params.missingProperty !== undefined) {
      const param = path ? `${path}.${params.missingProperty}` : params.missingProperty;
      return new ApiError(400, `${param}: is required`, { param, code: 'missing_required_parameter' });
    }
    return new ApiError(400, `${path || 'body'}: ${v.message ?? 'is invalid'}`, { param: path || undefined, code: 'invalid_value' });
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(413, 'request body too large', { code: 'request_too_large' });
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ApiError(status, err.message);
  return new ApiError(500, 'internal server error', { code: 'internal_error' });
}

/** A JSON pointer as a field path: /messages/0/role → messages[0].role. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}
