import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Platform } from './platform.js';

/** The package root: the nearest directory above this file holding package.json and models/ (built or not). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('kvtrim: cannot find the package root holding models/kvtrim-tiny');
    dir = up;
  }
}

/** Node's platform: node:fs, node:path, worker_threads, and build/kernels.wasm at the package root. */
export const hostPlatform: Platform = {
  stat(path) {
    const st = statSync(path);
    return { isFile: st.isFile(), isDirectory: st.isDirectory(), size: st.size };
  },
  exists: existsSync,
  listDir: (path) => readdirSync(path),
  open(path) {
    const fd = openSync(path, 'r');
    return { read: (out, offset, length, position) => readSync(fd, out, offset, length, position), close: () => closeSync(fd) };
  },
  writeFile: (path, data) => writeFileSync(path, data),
  makeDir: (path) => void mkdirSync(path, { recursive: true }),
  join,
  dirname,
  basename,
  cores: availableParallelism,
  startThread(body, data) {
    // execArgv: [] so the parent's loader flags (tsx, --input-type=module) do not apply to this plain-JS body.
    const source = `const { workerData, parentPort } = require('node:worker_threads');\n(${body})(workerData, () => parentPort.postMessage('ready'));`;
    const w = new Worker(source, { eval: true, execArgv: [], workerData: data });
    const ready = new Promise<void>((resolve, reject) => {
      w.once('message', () => {
        // a ready thread must not keep the process alive
        w.unref();
        resolve();
      });
      w.once('error', reject);
    });
    return { ready, terminate: () => void w.terminate() };
  },
  kernelsBinary() {
    const p = join(packageRoot(), 'build', 'kernels.wasm');
    if (!existsSync(p)) throw new Error('build/kernels.wasm not found: run `npm run build` (it compiles assembly/ with AssemblyScript)');
    return new Uint8Array(readFileSync(p));
  },
  defaultModelDir: () => join(packageRoot(), 'models', 'kvtrim-tiny'),
  utf8Slicer(bytes) {
    // Buffer's native slice decoding makes no view object per string.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return (start, end) => text.toString('utf8', start, end);
  },
};
