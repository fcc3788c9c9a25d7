import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tokenisePrompt } from '../generate/tokenise-prompt.js';
import { splitShots } from '../press/split-shots.js';
import { ApiError, badField } from './api-error.js';
import { BudgetRefusal, type Reservation } from './kv-budget.js';
import { kvBytesPerToken } from './kv-bytes.js';
import { ResponseShapes, usageOf, type GenerationKind } from './openai-shapes.js';
import type { StoredPrefix } from './prefix-store.js';
import { compressionOptions, generateOptions, type CompressionFields, type SamplingFields } from './request-options.js';
import type { SequenceResult } from './sequence.js';
import { checkModel, type ServerContext } from './server-context.js';

/** The fields every generation request has, after the schema check. */
export interface GenerationBody extends SamplingFields, CompressionFields {
  model: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
}

export interface Generation {
  kind: GenerationKind;
  body: GenerationBody;
  /** The prompt: text, or token ids (a completions request may send ids). */
  prompt: string | readonly number[];
  /** The field the prompt came from, for errors about it. */
  promptField: 'prompt' | 'messages';
  /** max_tokens as asked (undefined: `defaultMaxTokens`, clamped to the context). */
  maxTokens: number | undefined;
  maxTokensField: string;
  defaultMaxTokens: number;
}

/**
 * Serves one completion or chat request: checks it, reserves what its cache can grow to in the KV
 * budget (waiting in line, or 413 / 429), runs it on the engine and answers as one body or as
 * server-sent events. A client that leaves cancels its sequence, which the engine frees at its next step.
 */
export async function serveGeneration(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, g: Generation): Promise<FastifyReply | void> {
  const arrived = performance.now();
  const { body } = g;
  checkModel(ctx, body.model);
  const { compression, kvQuant } = compressionOptions(body, ctx);
  const prefix = body.kv_prefix === undefined ? undefined : storedPrefix(ctx, body);
  const segments = compression.press?.usesShots && typeof g.prompt === 'string' ? splitShots(g.prompt) : undefined;
  const { config } = ctx.model;
  if (typeof g.prompt !== 'string' && g.prompt.some((id) => id >= config.vocabSize))
    throw badField(g.promptField, `token ids must be below the vocabulary size ${config.vocabSize}`);
  const start = prefix?.tokens ?? 0;
  const ids = tokenisePrompt(ctx.tokenizer, g.prompt, segments, start).ids;
  if (ids.length === 0) throw badField(g.promptField, 'the prompt is empty');
  const room = config.maxSeqLen - start - ids.length;
  if (room < 1)
    throw badField(g.promptField, `${start + ids.length} prompt tokens${prefix ? ' (prefix included)' : ''} leave no room in the model's context of ${config.maxSeqLen}`);
  if (g.maxTokens !== undefined && g.maxTokens > room)
    throw badField(g.maxTokensField, `${g.maxTokens} tokens after a prompt of ${start + ids.length} exceed the model's context of ${config.maxSeqLen}`);
  const maxTokens = g.maxTokens ?? Math.min(g.defaultMaxTokens, room);

  // Cancelled when the client leaves, the request runs out of time, or shutdown gives up on it.
  const cancel = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) cancel.abort('client');
  };
  reply.raw.on('close', onClose);
  const timer = setTimeout(() => cancel.abort('timeout'), ctx.requestTimeoutMs);
  const onShutdown = () => cancel.abort('shutdown');
  ctx.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
  const cleanup = () => {
    clearTimeout(timer);
    reply.raw.off('close', onClose);
    ctx.shutdown.signal.removeEventListener('abort', onShutdown);
  };

  const perToken = kvBytesPerToken(config);
  let reservation: Reservation;
  try {
    reservation = await ctx.budget.reserve((prefix?.cache.bytes() ?? 0) + (ids.length + maxTokens) * perToken, {
      timeoutMs: ctx.queueTimeoutMs,
      signal: cancel.signal,
    });
  } catch (e) {
    cleanup();
    throw admissionError(e, cancel.signal);
  }
  const own = prefix?.cache.clone();
  if (prefix) {
    prefix.hits++;
    ctx.metrics.prefixHit();
  }

  const shapes = new ResponseShapes(g.kind, ctx.modelName);
  let text = '';
  let firstToken = true;
  let onText: (t: string) => void = (t) => (text += t);
  const run = ctx.engine.submit({
    prompt: segments ? g.prompt : ids,
    segments,
    promptTokens: ids.length,
    compression,
    kvQuant,
    prefix: own,
    generate: generateOptions(body, maxTokens),
    reservation,
    signal: cancel.signal,
    onToken: (t) => {
      if (firstToken) {
        firstToken = false;
        ctx.metrics.prefilled(ids.length, heldBytes(ctx));
        ctx.metrics.firstToken((performance.now() - arrived) / 1000);
      }
      ctx.metrics.token(heldBytes(ctx));
      if (t.text) onText(t.text);
    },
  });
  const note = (r: SequenceResult) => {
    if (r.finish === 'cancelled') ctx.metrics.cancelled(r.cancelLagSteps);
    if (r.pressure) ctx.metrics.compressedUnderPressure(r.pressure.caps.length);
    const capped = r.pressure ? ` pressure=${r.pressure.press}:${r.pressure.kept_positions}@${r.pressure.compressed_at_token}` : '';
    ctx.logNotes.set(req, `prompt=${r.promptTokens} completion=${r.completionTokens} finish=${r.finish} kv_bytes=${r.kvBytes}${prefix ? ` prefix=${prefix.id}` : ''}${capped}`);
  };

  if (!body.stream) {
    try {
      const r = await run;
      note(r);
      if (r.finish === 'cancelled') throw cancelledError(cancel.signal);
      return reply.send(shapes.complete(text, r, usageOf(r, prefix?.tokens)));
    } finally {
      cleanup();
    }
  }

  const withUsage = body.stream_options?.include_usage === true;
  const events = new PassThrough();
  const send = (data: object | string) => {
    if (!cancel.signal.aborted || cancel.signal.reason !== 'client') events.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  };
  let first = true;
  onText = (t) => {
    send(shapes.delta(t, { first, withUsage }));
    first = false;
  };
  if (g.kind === 'chat') onText('');
  run
    .then((r) => {
      note(r);
      if (r.finish === 'cancelled') send(cancelledError(cancel.signal).body());
      else {
        send(shapes.finish(r, withUsage));
        if (withUsage) send(shapes.usage(usageOf(r, prefix?.tokens)));
      }
    })
    .catch((e: unknown) => send(new ApiError(500, `generation failed: ${(e as Error).message}`).body()))
    .finally(() => {
      send('[DONE]');
      events.end();
      cleanup();
    });
  return reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').send(events);
}

function storedPrefix(ctx: ServerContext, body: GenerationBody): StoredPrefix {
  const prefix = ctx.prefixes.get(body.kv_prefix!);
  if (!prefix) throw new ApiError(404, `no stored prefix '${body.kv_prefix}'`, { param: 'kv_prefix', code: 'prefix_not_found' });
  for (const field of ['kv_press', 'kv_ratio', 'kv_press_params'] as const)
    if (body[field] !== undefined) throw badField(field, 'with kv_prefix the prompt is appended as is: the prefix was compressed when it was stored');
  if (body.kv_quant !== undefined) throw badField('kv_quant', 'with kv_prefix the cache keeps the storage the prefix was stored with');
  return prefix;
}

/** KV bytes the caches hold now: running sequences and stored prefixes. */
export function heldBytes(ctx: ServerContext): number {
  return ctx.engine.heldBytes() + ctx.prefixes.bytes();
}

/** The API error for a reservation the budget refused (or a wait that was called off). */
export function admissionError(e: unknown, signal: AbortSignal): unknown {
  if (!(e instanceof BudgetRefusal)) return e;
  switch (e.reason) {
    case 'too-large':
      return new ApiError(413, `request too large for the KV budget: it ${e.message}`, { code: 'kv_budget_exceeded' });
    case 'timeout':
      return new ApiError(429, `KV budget full: ${e.message}; retry later`, { code: 'kv_budget_full', retryAfterS: 1 });
    case 'closed':
      return shuttingDown();
    case 'cancelled':
      return cancelledError(signal);
  }
}

function cancelledError(signal: AbortSignal): ApiError {
  if (signal.reason === 'timeout') return new ApiError(504, 'the request ran past the server\'s request timeout', { code: 'request_timeout' });
  if (signal.reason === 'shutdown') return shuttingDown();
  return new ApiError(499, 'the client closed the request', { code: 'client_closed' });
}

export function shuttingDown(): ApiError {
  return new ApiError(503, 'the server is shutting down', { code: 'shutting_down', retryAfterS: 1 });
}
