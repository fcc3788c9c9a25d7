/**
 * The layers of src/, bottom to top, and the imports that run back up them. Data flows
 * file → weights → forward → cache ⇄ press → tokens → harness / server / page; a module may import
 * from its own layer or any layer below it.
 *   node --import tsx scripts/import-layers.ts   (lists every back edge; exit 1 when there is one)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bottom first. The platform (files, threads, the kernels' binary) is under everything; the cache is below the kernels: attention reads the ragged cache it is given. */
export const LAYERS = ['platform', 'formats', 'hub', 'tokenizer', 'cache', 'kernels', 'model', 'press', 'generate', 'inspect', 'eval', 'prune', 'bench', 'server', 'playground', 'cli'] as const;

export interface ImportEdge {
  from: string;
  to: string;
}

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The top-level folder of src/ a file belongs to ('' for src/index.ts, which may import anything). */
const layerOf = (file: string) => (relative(srcDir, file).includes('/') ? relative(srcDir, file).split('/')[0]! : '');
const rank = (layer: string) => LAYERS.indexOf(layer as (typeof LAYERS)[number]);

/** Every import (static, type-only or dynamic) from a lower layer's file into a higher layer's file, as src-relative paths. */
export function backEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of tsFiles(srcDir)) {
    const from = layerOf(file);
    if (!from) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
      const to = layerOf(target);
      if (rank(to) > rank(from)) edges.push({ from: relative(srcDir, file), to: relative(srcDir, target) });
    }
  }
  return edges;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const edges = backEdges();
  for (const e of edges) console.log(`${e.from} → ${e.to}`);
  console.log(`${edges.length} back edge(s) over ${LAYERS.join(' < ')}`);
  process.exitCode = edges.length ? 1 : 0;
}
