import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Reads a UTF-8 file a flag names; a missing or unreadable file is an error naming the flag, not Node's raw errno text. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new Error(`--${flag} ${path}: ${why}`);
  }
}

/**
 * Creates the missing folders above `file`, one level at a time. Node's recursive mkdir never returns on
 * some pseudo file systems (/proc); a single mkdir fails there at once, so that error is what we report.
 */
export function makeDirFor(flag: string, file: string): void {
  const missing: string[] = [];
  for (let d = dirname(file); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      throw new Error(`--${flag} ${file}: cannot create ${d} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
}
