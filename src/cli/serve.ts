import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { createServer } from '../server/create-server.js';
import { checkPressureOptions } from '../server/pressure-relief.js';
import { readFlagFile } from './cli-files.js';
import { addModelOptions, countFlag, numberFlag, openModel, type ModelFlags } from './model-options.js';

interface ServeFlags extends ModelFlags {
  host: string;
  port: number;
  kvBudget: number;
  maxBatchTokens?: number;
  apiKey?: string;
  onPressure: string;
  pressurePress?: string;
  pressureFloor?: number;
  chatTemplate?: string;
  queueTimeout: number;
  requestTimeout: number;
  grace: number;
  prefixDir?: string;
}

const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30 };

/** Parses a byte size: a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 2GiB or 512MB. */
export function byteSizeFlag(name: string) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = UNITS[m?.[2]?.toUpperCase() ?? ''];
    const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
    if (!(Number.isSafeInteger(n) && n > 0)) throw new Error(`--${name} expects a positive size such as 2GiB, 512MiB or 1000000, got '${value}'`);
    return n;
  };
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} B`;
}

export function register(program: Command): void {
  addModelOptions(program.command('serve').description('an OpenAI-compatible HTTP server whose sequences share one KV byte budget'))
    .option('--host <host>', 'address to listen on (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0 = any free one)', countFlag('port', 0), 8080)
    .option('--kv-budget <size>', 'KV bytes shared by every sequence and stored prefix, e.g. 2GiB', byteSizeFlag('kv-budget'), 2 ** 31)
    .option('--max-batch-tokens <n>', 'most tokens one engine step processes (decode tokens plus new prompts)', countFlag('max-batch-tokens', 1))
    .option('--api-key <key>', 'require Authorization: Bearer <key> on /v1/ (default: $KVTRIM_API_KEY, else no key)')
    .option('--on-pressure <mode>', 'when the budget is full: new requests wait in line (queue), or the largest running sequences are compressed to admit them (compress)', 'queue')
    .option('--pressure-press <press>', 'with compress: the decoding press that caps running sequences (default streamingllm)')
    .option('--pressure-floor <n>', 'with compress: the fewest positions a capped sequence keeps (default 64)', countFlag('pressure-floor', 1))
    .option('--chat-template <file>', "a Jinja chat template for /v1/chat/completions when the model has none")
    .option('--queue-timeout <s>', 'seconds a request waits for KV room before a 429', numberFlag('queue-timeout'), 30)
    .option('--request-timeout <s>', 'seconds a request may run in all', numberFlag('request-timeout'), 600)
    .option('--grace <s>', 'on SIGINT/SIGTERM, seconds running requests may finish before they are cancelled', numberFlag('grace'), 10)
    .option('--prefix-dir <dir>', 'folder for saved prefixes (/v1/kv/prefixes/{id}/save, /v1/kv/prefixes/load); default ./prefixes, made on the first save')
    .action(async (flags: ServeFlags) => {
      if (flags.onPressure !== 'queue' && flags.onPressure !== 'compress') throw new Error(`--on-pressure expects queue or compress, got '${flags.onPressure}'`);
      if (flags.onPressure === 'queue' && (flags.pressurePress !== undefined || flags.pressureFloor !== undefined))
        throw new Error('--pressure-press and --pressure-floor need --on-pressure compress');
      try {
        checkPressureOptions({ press: flags.pressurePress, floor: flags.pressureFloor });
      } catch (e) {
        throw new Error(`--pressure-press: ${(e as Error).message}`);
      }
      for (const f of ['queueTimeout', 'requestTimeout', 'grace'] as const)
        if (!(flags[f] >= 0)) throw new Error(`--${f.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} expects a number of seconds ≥ 0, got ${flags[f]}`);
      const chatTemplate = flags.chatTemplate === undefined ? undefined : readFlagFile('chat-template', flags.chatTemplate);
      const { model, tokenizer } = await openModel(flags);
      const modelName = flags.model === undefined ? 'kvtrim-tiny' : basename(flags.model, extname(flags.model));
      const apiKey = flags.apiKey ?? process.env.KVTRIM_API_KEY;
      const server = await createServer({
        model,
        tokenizer,
        modelName,
        kvBudgetBytes: flags.kvBudget,
        maxBatchTokens: flags.maxBatchTokens,
        apiKey: apiKey === '' ? undefined : apiKey,
        chatTemplate,
        queueTimeoutMs: flags.queueTimeout * 1000,
        requestTimeoutMs: flags.requestTimeout * 1000,
        graceMs: flags.grace * 1000,
        prefixDir: flags.prefixDir,
        onPressure: flags.onPressure,
        pressurePress: flags.pressurePress,
        pressureFloor: flags.pressureFloor,
      });
      const address = await server.listen({ host: flags.host, port: flags.port });
      console.error(
        `kvtrim serve: ${modelName} at ${address}/v1 | KV budget ${formatBytes(flags.kvBudget)} | ` +
          `API key ${apiKey ? 'required' : 'off'} | on pressure: ${flags.onPressure}${flags.maxBatchTokens ? ` | ≤ ${flags.maxBatchTokens} tokens per step` : ''}`,
      );
      const stop = (signal: string) => {
        console.error(`kvtrim serve: ${signal}: refusing new requests, finishing running ones (grace ${flags.grace} s)`);
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
