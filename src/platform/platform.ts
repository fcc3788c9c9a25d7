import { hostPlatform } from './node-platform.js';

/** What the platform says about a path. */
export interface PathInfo {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
}

/** An open file read by byte ranges. */
export interface OpenFile {
  /** Reads up to `length` bytes at file position `position` into `out` from `offset`; returns how many were read (0 at the end). */
  read(out: Uint8Array, offset: number, length: number, position: number): number;
  close(): void;
}

/** A thread started from a worker body; `ready` settles once the body has called its `ready()`. */
export interface PlatformThread {
  ready: Promise<void>;
  terminate(): void;
}

/**
 * Everything the core needs from its host: files, paths, threads, the kernels' binary and its
 * default model. The core reaches the host only through `platform()`; Node's implementation is the
 * default, and the browser bundle is built with the browser's in its place (scripts/build-browser.mjs).
 */
export interface Platform {
  /** Throws (with the host's message) when nothing is at `path`. */
  stat(path: string): PathInfo;
  exists(path: string): boolean;
  listDir(path: string): string[];
  open(path: string): OpenFile;
  writeFile(path: string, data: Uint8Array | string): void;
  makeDir(path: string): void;
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
  /** Threads worth starting by default. */
  cores(): number;
  /**
   * Starts a thread running `body`, the source of a function `(data, ready) => void`: `data` is
   * handed over as is (WebAssembly memories and modules included) and the body calls `ready()` once set up.
   */
  startThread(body: string, data: unknown): PlatformThread;
  /** The compiled WebAssembly kernels. */
  kernelsBinary(): Uint8Array<ArrayBuffer>;
  /** The embedded default model's directory. */
  defaultModelDir(): string;
  /** A UTF-8 decoder of byte ranges of `bytes` (parsers decode ~10^5 vocabulary strings per file, so this is the host's fastest). */
  utf8Slicer(bytes: Uint8Array): (start: number, end: number) => string;
}

let current: Platform = hostPlatform;

/** The platform the core runs on. */
export function platform(): Platform {
  return current;
}

/** Replaces the platform (a host with its own files, e.g. a page's dropped folder), returning the previous one. */
export function setPlatform(p: Platform): Platform {
  const previous = current;
  current = p;
  return previous;
}
