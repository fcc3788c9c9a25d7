import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { HEATMAP_CLIENT } from '../inspect/heatmap-client.js';
import { packageRoot } from '../platform/node-platform.js';
import { renderPlaygroundPage } from './playground-page.js';

export interface PlaygroundOptions {
  /** An HF model folder or a .gguf file; the page loads it by default. */
  model: string;
  port?: number;
  /** Send the headers that make the page cross-origin isolated, so its workers share memory (default true). */
  isolated?: boolean;
}

export interface Playground {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** The files the page may fetch as the default model: a .gguf alone, or a folder's regular files (no subfolders). */
function modelFiles(model: string): { name: string; dir: string; files: string[] } {
  if (!existsSync(model)) throw new Error(`--model ${model}: no such file or directory`);
  if (statSync(model).isDirectory()) {
    const files = readdirSync(model).filter((f) => statSync(join(model, f)).isFile());
    return { name: basename(model), dir: model, files };
  }
  if (!model.endsWith('.gguf')) throw new Error(`--model ${model}: the playground takes an HF model folder or a .gguf file`);
  return { name: basename(model, '.gguf'), dir: join(model, '..'), files: [basename(model)] };
}

/**
 * Serves the playground on loopback: the page, its bundled scripts (dist/browser), the kernels and
 * the default model's files, each with the headers cross-origin isolation needs (COOP same-origin,
 * COEP require-corp) unless `isolated` is false. Nothing else is served, and only to GET (and HEAD).
 */
export async function startPlayground(opts: PlaygroundOptions): Promise<Playground> {
  const model = modelFiles(opts.model);
  const root = packageRoot();
  const bundle = join(root, 'dist', 'browser');
  for (const f of ['playground.js', 'playground-worker.js', 'kvtrim.js'])
    if (!existsSync(join(bundle, f))) throw new Error(`dist/browser/${f} not found: run \`npm run build\` (it bundles the playground)`);
  const page = renderPlaygroundPage();
  const isolated = opts.isolated ?? true;

  const reply = (res: ServerResponse, status: number, type: string, body: string | Uint8Array) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'Cross-Origin-Resource-Policy': 'same-origin',
      ...(isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
    });
    res.end(body);
  };

  const server: Server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://loopback').pathname);
    } catch {
      return reply(res, 400, 'text/plain', 'malformed path\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'the playground only serves GET and HEAD\n');
    if (path === '/') return reply(res, 200, 'text/html; charset=utf-8', page);
    if (path === '/heatmap-client.js') return reply(res, 200, TYPES['.js']!, HEATMAP_CLIENT);
    if (path === '/playground.js' || path === '/playground-worker.js' || path === '/kvtrim.js') return reply(res, 200, TYPES['.js']!, readFileSync(join(bundle, path.slice(1))));
    if (path === '/kernels.wasm') return reply(res, 200, TYPES['.wasm']!, readFileSync(join(root, 'build', 'kernels.wasm')));
    if (path === '/model/') return reply(res, 200, TYPES['.json']!, JSON.stringify({ name: model.name, files: model.files }));
    const file = path.startsWith('/model/') ? path.slice('/model/'.length) : undefined;
    if (file !== undefined && model.files.includes(file)) return reply(res, 200, 'application/octet-stream', readFileSync(join(model.dir, file)));
    reply(res, 404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
