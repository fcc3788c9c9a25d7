import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, badField } from './api-error.js';

/** A saved prefix's name: letters, digits, '.', '_' and '-', not starting with '.'; never a path. */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
export const PREFIX_FILE_SUFFIX = '.kvprefix';

/** The file a saved prefix of this name lives in (400 naming `name` when it is not a plain name). */
export function prefixFilePath(dir: string, name: string): string {
  if (!NAME.test(name)) throw badField('name', `'${name.slice(0, 128)}' is not a prefix name: use 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'`);
  return join(dir, name + PREFIX_FILE_SUFFIX);
}

/**
 * Writes a saved prefix: into a temporary file first, then renamed over the name, so a reader never
 * sees half a file. An existing file is kept (409) unless `overwrite`.
 */
export async function writePrefixFile(dir: string, name: string, bytes: Uint8Array, overwrite: boolean): Promise<void> {
  const path = prefixFilePath(dir, name);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    if (overwrite) await rename(tmp, path);
    else
      // A hard link fails when the name exists: checking and claiming it are one step.
      await link(tmp, path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') throw new ApiError(409, `a saved prefix '${name}' exists: send overwrite: true to replace it`, { param: 'name', code: 'prefix_file_exists' });
        throw e;
      });
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Reads a saved prefix's bytes: 404 when there is none, 413 when the file is larger than `maxBytes`
 * (checked before reading it).
 */
export async function readPrefixFile(dir: string, name: string, maxBytes: number, tooLarge: (size: number) => string): Promise<Uint8Array> {
  const path = prefixFilePath(dir, name);
  const file = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'ENOTDIR') throw new ApiError(404, `no saved prefix '${name}'`, { param: 'name', code: 'prefix_file_not_found' });
    throw e;
  });
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new ApiError(404, `no saved prefix '${name}'`, { param: 'name', code: 'prefix_file_not_found' });
    if (stat.size > maxBytes) throw new ApiError(413, tooLarge(stat.size), { param: 'name', code: 'kv_budget_exceeded' });
    return await readFile(file);
  } finally {
    await file.close();
  }
}
