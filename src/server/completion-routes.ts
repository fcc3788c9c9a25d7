import type { FastifyInstance } from 'fastify';
import { badField } from './api-error.js';
import type { ApiMessage } from './chat-messages.js';
import { chatSchema, completionSchema } from './request-schemas.js';
import { serveGeneration, type GenerationBody } from './serve-generation.js';
import type { ServerContext } from './server-context.js';

interface CompletionBody extends GenerationBody {
  prompt: string | [string] | number[];
  max_tokens?: number;
}

interface ChatBody extends GenerationBody {
  messages: ApiMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
}

/** OpenAI's default max_tokens for /v1/completions; chat's default is the rest of the context. */
const COMPLETION_DEFAULT_MAX_TOKENS = 16;

/** POST /v1/completions and /v1/chat/completions. */
export function completionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/completions', { schema: { body: completionSchema } }, (req, reply) => {
    const body = req.body as CompletionBody;
    const prompt = typeof body.prompt === 'string' ? body.prompt : typeof body.prompt[0] === 'string' ? body.prompt[0] : (body.prompt as number[]);
    return serveGeneration(ctx, req, reply, {
      kind: 'text',
      body,
      prompt,
      promptField: 'prompt',
      maxTokens: body.max_tokens,
      maxTokensField: 'max_tokens',
      defaultMaxTokens: COMPLETION_DEFAULT_MAX_TOKENS,
    });
  });

  app.post('/v1/chat/completions', { schema: { body: chatSchema } }, (req, reply) => {
    const body = req.body as ChatBody;
    if (body.max_tokens !== undefined && body.max_completion_tokens !== undefined && body.max_tokens !== body.max_completion_tokens)
      throw badField('max_completion_tokens', 'differs from max_tokens; send one of them');
    return serveGeneration(ctx, req, reply, {
      kind: 'chat',
      body,
      prompt: ctx.chat.render(body.messages),
      promptField: 'messages',
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      maxTokensField: body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens',
      defaultMaxTokens: Infinity,
    });
  });
}
