import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** A download failed: names the URL (or repo) and what went wrong. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly url: string,
    readonly problem: string,
  ) {
    super(`${url}: ${problem}`);
  }
}

export interface DownloadProgress {
  file: string;
  /** Bytes of this file on disk so far (including a resumed part). */
  received: number;
  /** Full size of the file when the server says it. */
  total: number | undefined;
}

export interface DownloadOptions {
  revision?: string;
  /** Root of the model cache; default $KVTRIM_CACHE or ~/.cache/kvtrim/models. */
  cacheDir?: string;
  /** Hub endpoint; default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Exactly these files instead of the ones a model needs (e.g. one .gguf). */
  files?: string[];
  /** Bearer token for gated repositories. */
  token?: string;
  onProgress?: (p: DownloadProgress) => void;
}

export function defaultCacheDir(): string {
  return process.env.KVTRIM_CACHE || join(homedir(), '.cache', 'kvtrim', 'models');
}

/** Where `org/name` lives in the cache: `<cacheDir>/<org>--<name>`. */
export function modelCacheDir(repo: string, cacheDir = defaultCacheDir()): string {
  return join(cacheDir, repo.replace('/', '--'));
}

/** The files needed to run a model: config, tokenizer, safetensors weights (and their index). */
const NEEDED = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|model\.safetensors\.index\.json|[^/]+\.safetensors)$/;

export function selectModelFiles(repo: string, siblings: readonly string[], requested?: readonly string[]): string[] {
  if (requested && requested.length > 0) {
    const missing = requested.filter((f) => !siblings.includes(f));
    if (missing.length) throw new DownloadError(repo, `not in the repository: ${missing.join(', ')}`);
    return [...requested];
  }
  const files = siblings.filter((f) => NEEDED.test(f));
  if (!files.some((f) => f.endsWith('.safetensors'))) {
    const ggufs = siblings.filter((f) => f.endsWith('.gguf'));
    throw new DownloadError(repo, ggufs.length ? `no safetensors weights; choose a GGUF with --files (${ggufs.join(', ')})` : 'no safetensors or GGUF weights in this repository');
  }
  return files;
}

/**
 * Downloads a Hugging Face model repository's needed files into the cache, resuming partial files
 * (`<file>.part` + an HTTP Range request). Touches the network only when called.
 */
export async function downloadModel(repo: string, opts: DownloadOptions = {}): Promise<{ dir: string; files: string[] }> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || repo.split('/').some((p) => p === '.' || p === '..'))
    throw new DownloadError(repo, 'expected a repository id of the form ORG/NAME');
  const endpoint = (opts.endpoint ?? (process.env.HF_ENDPOINT || 'https://huggingface.co')).replace(/\/+$/, '');
  const revision = encodeURIComponent(opts.revision ?? 'main');
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  for (const f of opts.files ?? [])
    if (f === '' || f.startsWith('/') || f.split('/').some((p) => p === '..' || p === '.' || p === ''))
      throw new DownloadError(repo, `file name ${JSON.stringify(f)} must be a relative path inside the repository`);

  const listUrl = `${endpoint}/api/models/${repo}/revision/${revision}`;
  const info = (await (await request(listUrl, headers)).json().catch(() => null)) as { siblings?: { rfilename?: unknown }[] } | null;
  if (!info || !Array.isArray(info.siblings)) throw new DownloadError(listUrl, 'the answer has no list of files (siblings)');
  const siblings = info.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === 'string');
  const files = selectModelFiles(repo, siblings, opts.files);

  const dir = modelCacheDir(repo, opts.cacheDir);
  for (const file of files) await downloadFile(`${endpoint}/${repo}/resolve/${revision}/${file}`, join(dir, file), file, headers, opts.onProgress);
  return { dir, files };
}

async function request(url: string, headers: Record<string, string>): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (e) {
    throw new DownloadError(url, networkProblem(e));
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new DownloadError(url, httpProblem(res));
  }
  return res;
}

/** Node's fetch says only "fetch failed"; the system error that says why is its `cause`. */
function networkProblem(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; hostname?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const host = typeof cause?.hostname === 'string' ? cause.hostname : 'the host';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `DNS lookup of ${host} failed (${code}): no network, or a wrong endpoint (HF_ENDPOINT)`;
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED): nothing is listening at that address';
    case 'ECONNRESET':
      return 'the server closed the connection (ECONNRESET)';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connection timed out (${code})`;
  }
  const detail = typeof cause?.message === 'string' ? cause.message : (e as Error).message;
  return `request failed: ${detail}${code ? ` (${code})` : ''}`;
}

function httpProblem(res: Response): string {
  const hint =
    res.status === 401 || res.status === 403
      ? ' (gated or private repository? pass a token)'
      : res.status === 404
        ? ' (no such repository, revision or file)'
        : res.status === 429
          ? ' (rate limited: wait, or pass a token)'
          : res.status >= 500
            ? ' (the hub failed: try again later)'
            : '';
  return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${hint}`;
}

async function downloadFile(url: string, dest: string, file: string, headers: Record<string, string>, onProgress?: (p: DownloadProgress) => void): Promise<void> {
  if (existsSync(dest)) {
    const size = statSync(dest).size;
    onProgress?.({ file, received: size, total: size });
    return;
  }
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let have = existsSync(part) ? statSync(part).size : 0;
  let res = have > 0 ? await fetch(url, { headers: { ...headers, Range: `bytes=${have}-` }, redirect: 'follow' }).catch(() => undefined) : undefined;
  if (res && res.status !== 206) {
    // 200 (range ignored) or 416 (stale part): start over from byte 0.
    await res.body?.cancel();
    res = undefined;
  }
  if (res) {
    const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
    if (Number(start) !== have) {
      await res.body?.cancel();
      throw new DownloadError(url, `server resumed at byte ${start}, expected ${have}`);
    }
  } else {
    have = 0;
    res = await request(url, headers);
  }
  const length = res.headers.get('content-length');
  const expected = length === null ? undefined : Number(length);
  const total = expected === undefined ? undefined : have + expected;
  const fd = openSync(part, have > 0 ? 'a' : 'w');
  let received = 0;
  try {
    if (!res.body) throw new DownloadError(url, 'empty response body');
    onProgress?.({ file, received: have, total });
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      writeSync(fd, chunk);
      received += chunk.byteLength;
      onProgress?.({ file, received: have + received, total });
    }
  } catch (e) {
    if (e instanceof DownloadError) throw e;
    throw new DownloadError(url, `connection lost after ${have + received} bytes (${(e as Error).message}); run again to resume`);
  } finally {
    closeSync(fd);
  }
  if (expected !== undefined && received !== expected) {
    if (received > expected) unlinkSync(part);
    throw new DownloadError(url, `got ${received} bytes, Content-Length said ${expected}${received < expected ? '; run again to resume' : ''}`);
  }
  renameSync(part, dest);
}
