/**
 * JSON schemas of the request bodies (validated by fastify before a handler runs, no coercion, no
 * unknown field). OpenAI parameters kvtrim does not implement are named in UNSUPPORTED so the
 * error says so instead of calling them unknown.
 */

const sampling = {
  model: { type: 'string', minLength: 1, maxLength: 256 },
  max_tokens: { type: 'integer', minimum: 1 },
  temperature: { type: 'number', minimum: 0, maximum: 2 },
  top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  n: { type: 'integer', minimum: 1, maximum: 1 },
  stop: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 4 }, { type: 'null' }] },
  seed: { type: 'integer', minimum: -(2 ** 53) + 1, maximum: 2 ** 53 - 1 },
  stream: { type: 'boolean' },
  stream_options: { anyOf: [{ type: 'object', additionalProperties: false, properties: { include_usage: { type: 'boolean' } } }, { type: 'null' }] },
  user: { type: 'string', maxLength: 256 },
} as const;

/** The kvtrim extension fields: the request's KV compression, storage and stored prefix. */
const compression = {
  kv_press: { type: 'string', minLength: 1, maxLength: 64 },
  kv_ratio: { type: 'number' },
  kv_decode_press: { type: 'string', minLength: 1, maxLength: 64 },
  kv_decode_ratio: { type: 'number' },
  kv_press_params: { type: 'object', maxProperties: 32, additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
  kv_quant: { enum: ['int8', 'int4'] },
  kv_prefix: { type: 'string', minLength: 1, maxLength: 64 },
} as const;

const messageContent = {
  anyOf: [
    { type: 'string' },
    {
      type: 'array',
      maxItems: 256,
      items: { type: 'object', additionalProperties: false, required: ['type', 'text'], properties: { type: { const: 'text' }, text: { type: 'string' } } },
    },
  ],
} as const;

const messages = {
  type: 'array',
  minItems: 1,
  maxItems: 1024,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['role', 'content'],
    properties: { role: { enum: ['system', 'developer', 'user', 'assistant'] }, content: messageContent, name: { type: 'string', maxLength: 256 } },
  },
} as const;

const prompt = {
  anyOf: [
    { type: 'string' },
    { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 },
    { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
  ],
} as const;

export const completionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'prompt'],
  properties: { ...sampling, ...compression, prompt },
} as const;

export const chatSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'messages'],
  properties: { ...sampling, ...compression, messages, max_completion_tokens: { type: 'integer', minimum: 1 } },
} as const;

export const prefixSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: sampling.model,
    prompt: { type: 'string', minLength: 1 },
    messages,
    kv_press: compression.kv_press,
    kv_ratio: compression.kv_ratio,
    kv_press_params: compression.kv_press_params,
    kv_quant: compression.kv_quant,
  },
} as const;

/** Saving a stored prefix to a file (the name is checked by the handler, which says what a name may hold). */
export const prefixSaveSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, overwrite: { type: 'boolean' } },
} as const;

/** Loading a saved prefix. */
export const prefixLoadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { model: sampling.model, name: prefixSaveSchema.properties.name },
} as const;

/** OpenAI request fields kvtrim serve does not implement (refused by name). */
export const UNSUPPORTED = new Set([
  'logprobs',
  'top_logprobs',
  'echo',
  'best_of',
  'suffix',
  'logit_bias',
  'presence_penalty',
  'frequency_penalty',
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'parallel_tool_calls',
  'response_format',
  'modalities',
  'audio',
  'prediction',
  'store',
  'metadata',
  'service_tier',
  'reasoning_effort',
  'web_search_options',
]);
