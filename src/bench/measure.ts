import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Engine, Throughput, ThroughputOptions } from './throughput.js';

/** Measures one engine on one file in a fresh child process (see engine-child.ts). */
export function measureEngine(engine: Engine, path: string, o: ThroughputOptions, vocabSize?: number): Promise<Throughput & { vocabSize?: number }> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const child = fileURLToPath(new URL(`./engine-child.${ext}`, import.meta.url));
  const args = JSON.stringify({ engine, path, vocabSize, threads: o.threads, promptTokens: o.promptTokens, genTokens: o.genTokens, batch: o.batch, nativeGemm: o.nativeGemm });
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...loaderFlags(process.execArgv), child, args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as Throughput & { vocabSize?: number });
      else reject(new Error(`${engine} benchmark failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ') || 'no output'}`));
    });
  });
}

/** The parent's module-loader flags (e.g. tsx's --import), without any -e script or --input-type. */
function loaderFlags(argv: readonly string[]): string[] {
  const withValue = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (withValue.has(a) && i + 1 < argv.length) out.push(a, argv[++i]!);
    else if ([...withValue].some((f) => a.startsWith(`${f}=`))) out.push(a);
  }
  return out;
}

export interface Comparison {
  kvtrim: Throughput;
  llamacpp?: Throughput;
  ratio?: { prefill: number; decode: number };
}

/** kvtrim, then (optionally) node-llama-cpp on the same file with the same settings, and their ratios. */
export async function compareEngines(path: string, o: ThroughputOptions, vsLlamaCpp: boolean): Promise<Comparison> {
  const { vocabSize, ...kvtrim } = await measureEngine('kvtrim', path, o);
  if (!vsLlamaCpp) return { kvtrim };
  const { vocabSize: _, ...llamacpp } = await measureEngine('llamacpp', path, o, vocabSize);
  return { kvtrim, llamacpp, ratio: { prefill: kvtrim.prefill_tps / llamacpp.prefill_tps, decode: kvtrim.decode_tps / llamacpp.decode_tps } };
}
