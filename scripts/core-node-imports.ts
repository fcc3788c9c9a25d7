/**
 * The core folders of src/ run in Node and in the browser, so they import no Node module: files,
 * threads and the kernels' binary come through src/platform/platform.ts. This lists every import of
 * a Node built-in (node:fs or a bare 'fs', static, type-only, dynamic or require) in them, and every
 * import of a platform implementation that skips platform.ts.
 *   node --import tsx scripts/core-node-imports.ts   (exit 1 when there is one)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORE = ['formats', 'tokenizer', 'kernels', 'model', 'cache', 'press', 'generate', 'inspect'] as const;

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const builtins = new Set(builtinModules);

/** Every module specifier a source names: import/export … from, import '…', import(…), require(…). */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*(['"`])([^'"`\n]+)\1/g)) out.push(m[2]!);
  return out;
}

/** Whether a specifier names a Node built-in module. */
export function isNodeModule(spec: string): boolean {
  return spec.startsWith('node:') || builtins.has(spec.split('/')[0]!) || builtins.has(spec);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** "file: specifier" for every Node import, or direct platform-implementation import, in the core folders. */
export function coreNodeImports(): string[] {
  const found: string[] = [];
  for (const folder of CORE)
    for (const file of tsFiles(join(srcDir, folder)))
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        const target = spec.startsWith('.') ? relative(srcDir, normalize(join(dirname(file), spec))) : '';
        if (isNodeModule(spec) || (target.startsWith('platform/') && target !== 'platform/platform.js')) found.push(`${relative(srcDir, file)}: ${spec}`);
      }
  return found;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const found = coreNodeImports();
  for (const f of found) console.log(f);
  console.log(`${found.length} Node import(s) in src/{${CORE.join(',')}}`);
  process.exitCode = found.length ? 1 : 0;
}
