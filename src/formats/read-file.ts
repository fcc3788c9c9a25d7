import { platform } from '../platform/platform.js';
import { FormatError } from './format-error.js';

/** Where file bytes go: a fresh heap array, or memory a compute backend hands out (so weights need no second copy). */
export type ByteAlloc = (bytes: number) => Uint8Array;

/**
 * Reads a whole file into one Uint8Array. Chunked reads, because readFileSync refuses files over
 * 2 GiB; missing files and directories give a FormatError naming the path.
 */
export function readFileBytes(path: string, alloc: ByteAlloc = (n) => new Uint8Array(n)): Uint8Array {
  let size: number;
  try {
    const st = platform().stat(path);
    if (!st.isFile) throw new FormatError(path, 'is not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(path, `cannot read: ${(e as Error).message}`);
  }
  const out = alloc(size);
  const file = platform().open(path);
  try {
    const chunk = 1 << 30;
    for (let pos = 0; pos < size; ) {
      const n = file.read(out, pos, Math.min(chunk, size - pos), pos);
      if (n === 0) throw new FormatError(path, `file shrank while reading (${pos} of ${size} bytes)`);
      pos += n;
    }
  } finally {
    file.close();
  }
  return out;
}
