// Load test against a running `kvtrim serve`: N concurrent clients for M minutes, each sending streamed
// completions back to back; prints requests/s, tokens/s, latency and time-to-first-token percentiles,
// errors by status, and the server's resident memory (process_resident_memory_bytes in /metrics) at start, peak and end.
//   npm run loadtest -- --url http://127.0.0.1:8080 --clients 16 --minutes 10 [--max-tokens 64] [--api-key K] [--model NAME]
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    clients: { type: 'string', default: '16' },
    minutes: { type: 'string', default: '1' },
    'max-tokens': { type: 'string', default: '64' },
    'api-key': { type: 'string', default: process.env.KVTRIM_API_KEY ?? 'none' },
    model: { type: 'string' },
  },
});
const clients = Number(values.clients);
const minutes = Number(values.minutes);
const maxTokens = Number(values['max-tokens']);
if (!(Number.isInteger(clients) && clients >= 1)) throw new Error(`--clients expects a positive integer, got ${values.clients}`);
if (!(minutes > 0)) throw new Error(`--minutes expects a positive number, got ${values.minutes}`);
if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new Error(`--max-tokens expects a positive integer, got ${values['max-tokens']}`);

const client = new OpenAI({ baseURL: `${values.url}/v1`, apiKey: values['api-key'], maxRetries: 0 });
const model = values.model ?? (await client.models.list()).data[0]!.id;
const latencies: number[] = [];
const ttfts: number[] = [];
const errors = new Map<string, number>();
let tokens = 0;
let peakRss = 0;

/** The server's resident set size from /metrics (process_resident_memory_bytes), if it reports one. */
async function serverRss(): Promise<number | undefined> {
  const text = await (await fetch(`${values.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

const startRss = await serverRss();
const t0 = performance.now();
const end = t0 + minutes * 60_000;
const rssWatch = setInterval(() => void serverRss().then((r) => (peakRss = Math.max(peakRss, r ?? 0))), 1000);

async function clientLoop(c: number): Promise<void> {
  for (let i = 0; performance.now() < end; i++) {
    const start = performance.now();
    let first: number | undefined;
    try {
      const prompt = `Q: Count from ${10 + ((c * 7 + i) % 80)} to ${200 + c} by 1.\nA:`;
      const stream = await client.completions.create({ model, prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        first ??= performance.now();
        if (chunk.usage) tokens += chunk.usage.completion_tokens;
      }
      latencies.push(performance.now() - start);
      if (first !== undefined) ttfts.push(first - start);
    } catch (e) {
      const key = e instanceof OpenAI.APIError ? String(e.status ?? 'connection') : (e as Error).name;
      errors.set(key, (errors.get(key) ?? 0) + 1);
      if (e instanceof OpenAI.APIError && e.status === 429) await new Promise((r) => setTimeout(r, 200));
    }
  }
}

await Promise.all(Array.from({ length: clients }, (_, c) => clientLoop(c)));
clearInterval(rssWatch);
const endRss = await serverRss();
const seconds = (performance.now() - t0) / 1000;
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mb = (b: number | undefined) => (b === undefined ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`);
console.log(`${clients} clients × ${minutes} min against ${values.url} (${model}), max_tokens ${maxTokens}`);
console.log(`requests ${latencies.length} (${(latencies.length / seconds).toFixed(2)}/s), tokens ${tokens} (${(tokens / seconds).toFixed(1)}/s)`);
console.log(`latency p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms; TTFT p50 ${pct(ttfts, 50).toFixed(0)} ms, p99 ${pct(ttfts, 99).toFixed(0)} ms`);
console.log(`errors ${[...errors].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'}`);
console.log(`server RSS: start ${mb(startRss)}, peak ${mb(peakRss || undefined)}, end ${mb(endRss)}`);
