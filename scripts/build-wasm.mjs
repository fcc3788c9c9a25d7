// Compiles the AssemblyScript kernels (assembly/index.ts and what it imports) into build/kernels.wasm:
// SIMD and threads on, memory imported and shared (the JS side creates it and hands it to every
// worker), no GC runtime (kernels only touch raw pointers).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'build'), { recursive: true });
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
execFileSync(
  process.execPath,
  [
    asc,
    join(root, 'assembly', 'index.ts'),
    '--enable', 'simd',
    '--enable', 'threads',
    '--importMemory',
    '--sharedMemory',
    '--initialMemory', '2',
    '--maximumMemory', '65536',
    '-O3',
    '--noAssert',
    '--runtime', 'stub',
    '--use', 'abort=',
    '-o', join(root, 'build', 'kernels.wasm'),
  ],
  { stdio: 'inherit' },
);
