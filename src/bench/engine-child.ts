// Entry of the child process that measures one engine, so each engine's peak RSS is its own and
// neither runs while the other holds cores. Arguments: one JSON object; prints one JSON line.
import { measureKvtrim } from './kvtrim-throughput.js';
import { measureLlamaCpp } from './llamacpp-throughput.js';
import type { Engine, ThroughputOptions } from './throughput.js';

interface ChildArgs extends ThroughputOptions {
  engine: Engine;
  path: string;
  vocabSize?: number;
}

const a = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
try {
  const result = a.engine === 'kvtrim' ? await measureKvtrim(a.path, a) : await measureLlamaCpp(a.path, a, a.vocabSize ?? 0);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
