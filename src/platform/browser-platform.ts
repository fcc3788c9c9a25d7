import type { OpenFile, Platform } from './platform.js';

/** FileReaderSync, which dedicated workers have (the DOM typings leave it out). */
declare const FileReaderSync: new () => { readAsArrayBuffer(blob: Blob): ArrayBuffer };

/** Files the page has handed over (a dropped folder, the fetched embedded model), by path. */
const files = new Map<string, Blob>();
let kernels: Uint8Array<ArrayBuffer> | undefined;

function clean(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

function isDirectory(path: string): boolean {
  const prefix = path === '/' ? '/' : path + '/';
  for (const p of files.keys()) if (p.startsWith(prefix)) return true;
  return false;
}

function missing(path: string): Error {
  return new Error(`ENOENT: no such file or directory, '${path}'`);
}

/** Makes `blobs` readable by the core at their paths ('/' + folder/file); the blobs stay where the page has them (no copy until read). */
export function mountFiles(blobs: Iterable<[string, Blob]>): void {
  for (const [path, blob] of blobs) files.set(clean(path), blob);
}

/** Forgets every mounted file. */
export function unmountFiles(): void {
  files.clear();
}

/** The compiled kernels (build/kernels.wasm), fetched by the page: the browser has no file of its own to read them from. */
export function provideKernels(binary: Uint8Array<ArrayBuffer>): void {
  kernels = binary;
}

/**
 * The browser's platform, for code running in a dedicated worker: files are Blobs the page mounted
 * (read synchronously with FileReaderSync, range by range), threads are nested workers started from
 * a Blob URL, and threads beyond one only where the page is cross-origin isolated (shared memory).
 */
export const hostPlatform: Platform = {
  stat(path) {
    const p = clean(path);
    const blob = files.get(p);
    if (blob) return { isFile: true, isDirectory: false, size: blob.size };
    if (isDirectory(p)) return { isFile: false, isDirectory: true, size: 0 };
    throw missing(path);
  },
  exists(path) {
    const p = clean(path);
    return files.has(p) || isDirectory(p);
  },
  listDir(path) {
    const p = clean(path);
    if (!isDirectory(p)) throw missing(path);
    const prefix = p === '/' ? '/' : p + '/';
    const names = new Set<string>();
    for (const f of files.keys()) if (f.startsWith(prefix)) names.add(f.slice(prefix.length).split('/')[0]!);
    return [...names];
  },
  open(path): OpenFile {
    const blob = files.get(clean(path));
    if (!blob) throw missing(path);
    if (typeof FileReaderSync === 'undefined') throw new Error('kvtrim reads files in a dedicated worker (FileReaderSync); run it in one');
    const reader = new FileReaderSync();
    return {
      read(out, offset, length, position) {
        const bytes = new Uint8Array(reader.readAsArrayBuffer(blob.slice(position, position + length)));
        out.set(bytes, offset);
        return bytes.length;
      },
      close() {},
    };
  },
  writeFile(path, data) {
    files.set(clean(path), new Blob([data as BlobPart]));
  },
  makeDir() {},
  join: (...parts) => clean(parts.join('/')),
  dirname(path) {
    const p = clean(path);
    return p.slice(0, p.lastIndexOf('/')) || '/';
  },
  basename: (path) => clean(path).split('/').pop() ?? '',
  cores: () => (globalThis.crossOriginIsolated ? navigator.hardwareConcurrency || 1 : 1),
  startThread(body, data) {
    const url = URL.createObjectURL(new Blob([`onmessage = (e) => { onmessage = null; (${body})(e.data, () => postMessage('ready')); };`], { type: 'text/javascript' }));
    const w = new Worker(url);
    const ready = new Promise<void>((resolve, reject) => {
      w.onmessage = () => resolve();
      w.onerror = (e) => reject(new Error(`a kernel thread failed to start: ${e.message || 'unknown error'}`));
    });
    void ready.finally(() => URL.revokeObjectURL(url)).catch(() => {});
    w.postMessage(data);
    return { ready, terminate: () => w.terminate() };
  },
  kernelsBinary() {
    if (!kernels) throw new Error('kvtrim: call provideKernels() with build/kernels.wasm before starting the WebAssembly backend');
    return kernels;
  },
  defaultModelDir: () => '/models/kvtrim-tiny',
  utf8Slicer(bytes) {
    const decoder = new TextDecoder();
    // a copy: TextDecoder refuses views of shared memory, where weights (and so headers) are read
    return (start, end) => decoder.decode(bytes.slice(start, end));
  },
};

/**
 * Session's decode loop yields to the event loop with setImmediate between tokens, which browsers
 * lack; a MessageChannel round trip is the same "after pending events, without a timer's clamp".
 */
if (typeof (globalThis as { setImmediate?: unknown }).setImmediate !== 'function') {
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => queue.shift()?.();
  (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate = (f) => {
    queue.push(f);
    channel.port2.postMessage(0);
  };
}
