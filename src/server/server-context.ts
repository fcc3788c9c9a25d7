import type { FastifyRequest } from 'fastify';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { ApiError } from './api-error.js';
import type { ChatRenderer } from './chat-messages.js';
import type { Engine } from './engine.js';
import type { KvBudget } from './kv-budget.js';
import type { PrefixStore } from './prefix-store.js';
import type { ServerMetrics } from './server-metrics.js';

/** What the routes share: the model, the engine, the budget, the prefixes, the metrics and the server's limits. */
export interface ServerContext {
  model: Model;
  tokenizer: Tokenizer;
  /** The id clients name in `model`. */
  modelName: string;
  engine: Engine;
  budget: KvBudget;
  prefixes: PrefixStore;
  /** Where saved prefixes are written and read (made on the first save). */
  prefixDir: string;
  metrics: ServerMetrics;
  chat: ChatRenderer;
  /** How long a request waits for KV room before a 429. */
  queueTimeoutMs: number;
  /** How long a request may run in all before it is cancelled. */
  requestTimeoutMs: number;
  /** Aborted when shutdown gives up on running requests (after the grace period). */
  shutdown: AbortController;
  /** True from the first shutdown signal: new requests get 503. */
  draining: boolean;
  /** What each request's log line adds after method, path, status and time. */
  logNotes: WeakMap<FastifyRequest, string>;
}

/** Refuses a request for another model than the one this server runs. */
export function checkModel(ctx: ServerContext, model: string | undefined): void {
  if (model !== undefined && model !== ctx.modelName)
    throw new ApiError(404, `The model '${model}' does not exist; this server serves '${ctx.modelName}'`, { param: 'model', code: 'model_not_found' });
}
