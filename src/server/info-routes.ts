import type { FastifyInstance } from 'fastify';
import { heldBytes } from './serve-generation.js';
import type { ServerContext } from './server-context.js';

/** GET /v1/models, /health and /metrics (Prometheus text). */
export function infoRoutes(app: FastifyInstance, ctx: ServerContext, started: number): void {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: ctx.modelName, object: 'model', created: started, owned_by: 'kvtrim', max_model_len: ctx.model.config.maxSeqLen }],
  }));

  app.get('/health', async (_req, reply) => {
    reply.code(ctx.draining ? 503 : 200);
    return { status: ctx.draining ? 'shutting_down' : 'ok', model: ctx.modelName, running: ctx.engine.running, waiting: ctx.budget.waiting };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render({
      queueDepth: ctx.budget.waiting,
      runningSequences: ctx.engine.running,
      kvBytesReserved: ctx.budget.used,
      kvBytesReservedPeak: ctx.budget.peak,
      kvBytesHeld: heldBytes(ctx),
      kvBytesBudget: ctx.budget.totalBytes,
      prefixes: ctx.prefixes.size,
      prefixBytes: ctx.prefixes.bytes(),
      engineSteps: ctx.engine.steps,
    });
  });
}
