import { after } from 'node:test';
import OpenAI from 'openai';
import { Session, type GenerateOptions } from '../../src/generate/session.js';
import { createWasmBackend, type WasmBackend } from '../../src/kernels/wasm-backend.js';
import { defaultModelPath } from '../../src/model/default-model.js';
import { loadModel, type LoadedModel } from '../../src/model/load-model.js';
import type { CompressionOptions } from '../../src/press/compression.js';
import { createServer, type KvtrimServer, type ServerOptions } from '../../src/server/create-server.js';
import { ensureKernelsBuilt } from '../helpers/wasm-kernels.js';

/** A chat template for the embedded model (it ships none): the messages' texts, a blank line after each system message. */
export const CHAT_TEMPLATE = "{% for m in messages %}{{ m.content }}{% if m.role == 'system' %}{{ '\\n\\n' }}{% endif %}{% endfor %}";

let loaded: Promise<LoadedModel> | undefined;
let backend: WasmBackend | undefined;
/** The embedded model on the WebAssembly kernels (one thread: the machine is shared), loaded once per test file. */
export function embeddedModel(): Promise<LoadedModel> {
  return (loaded ??= (async () => {
    ensureKernelsBuilt();
    backend = await createWasmBackend({ threads: 1, nativeGemm: false });
    return loadModel(defaultModelPath(), { backend });
  })());
}
after(() => backend?.dispose());

export interface RunningServer {
  server: KvtrimServer;
  url: string;
  client: OpenAI;
  /** The text of GET /metrics as name → value (label sets kept in the name). */
  metrics(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 (random port) over the embedded model, and an `openai` client that never retries. */
export async function startServer(opts: Partial<ServerOptions> = {}, apiKey = 'none'): Promise<RunningServer> {
  const { model, tokenizer } = await embeddedModel();
  const server = await createServer({ model, tokenizer, modelName: 'kvtrim-tiny', kvBudgetBytes: 2 ** 26, chatTemplate: CHAT_TEMPLATE, log: () => {}, ...opts });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
  return {
    server,
    url,
    client,
    async metrics() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const at = line.lastIndexOf(' ');
        out.set(line.slice(0, at), Number(line.slice(at + 1)));
      }
      return out;
    },
    close: () => server.close(),
  };
}

/** What one Session alone generates (and holds) for the prompt: the reference every served output must equal. */
export async function alone(prompt: string, gen: GenerateOptions, compression?: CompressionOptions): Promise<AloneRun> {
  const { model, tokenizer } = await embeddedModel();
  const session = new Session(model, tokenizer, { compression });
  session.prefill(prompt);
  const kept = session.cache.entries() / (session.cache.seen * model.config.nLayers * model.config.nKvHeads);
  let text = '';
  for await (const t of session.generate(gen)) text += t.text;
  const run = { text, promptTokens: session.stats.promptTokens, completionTokens: session.stats.generatedTokens, kvBytes: session.cache.bytes(), kept };
  session.free();
  return run;
}

export interface AloneRun {
  text: string;
  promptTokens: number;
  completionTokens: number;
  kvBytes: number;
  /** Share of prompt entries kept after prefill. */
  kept: number;
}

/** KV bytes per position of an uncompressed float32 cache, from the config (keys and values of headDim floats, one int32 position). */
export async function bytesPerPosition(): Promise<number> {
  const { nLayers, nKvHeads, headDim } = (await embeddedModel()).model.config;
  return nLayers * nKvHeads * (2 * headDim * 4 + 4);
}

/** The worked example of the counting prompts (the embedded model counts on after one). */
export const SHOT = 'Q: Count from 38 to 45 by 1.\nA: 38,39,40,41,42,43,44,45';

/** Distinct prompts the embedded model answers at length (a counting list). */
export const PROMPTS = Array.from({ length: 16 }, (_, i) => `${SHOT}\n\nQ: Count from ${20 + 3 * i} to ${120 + 3 * i} by ${1 + (i % 2)}.\nA:`);
