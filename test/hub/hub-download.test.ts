import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DownloadError, downloadModel, modelCacheDir, type DownloadProgress } from '../../src/hub/hub-download.js';
import { startFakeHub, type FakeHubState } from '../helpers/fake-hub.js';

const repoFiles: Record<string, Buffer> = {
  'config.json': Buffer.from('{"model_type":"llama"}'),
  'tokenizer.json': Buffer.from('{"model":{}}'),
  'model.safetensors': Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255)),
  'model-q8_0.gguf': Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) & 255)),
  'README.md': Buffer.from('# readme'),
  'pytorch_model.bin': Buffer.from('pickle'),
  'onnx/model.safetensors': Buffer.from('nested'),
};

let hub: Awaited<ReturnType<typeof startFakeHub>>;
let endpoint = '';
let server: FakeHubState;
const dir = mkdtempSync(join(tmpdir(), 'kvtrim-hub-'));

before(async () => {
  hub = await startFakeHub('org/tiny', repoFiles);
  endpoint = hub.endpoint;
  server = hub.state;
});
after(() => {
  hub.close();
  rmSync(dir, { recursive: true, force: true });
});

const fresh = () => mkdtempSync(join(dir, 'cache-'));

/** A loopback port nothing listens on: one the system just gave a server that has closed. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

test('downloads only the files a model needs into <cache>/<org>--<name>/, with progress', async () => {
  server.requests = [];
  const cacheDir = fresh();
  const seen: DownloadProgress[] = [];
  const { dir: out, files } = await downloadModel('org/tiny', { endpoint, cacheDir, onProgress: (p) => seen.push({ ...p }) });
  assert.equal(out, join(cacheDir, 'org--tiny'));
  assert.equal(modelCacheDir('org/tiny', cacheDir), out);
  assert.deepEqual(files.sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  for (const f of files) assert.deepEqual(readFileSync(join(out, f)), repoFiles[f]);
  const last = seen.filter((p) => p.file === 'model.safetensors').at(-1)!;
  assert.deepEqual(last, { file: 'model.safetensors', received: 100_000, total: 100_000 });
  assert.ok(server.requests.every((r) => !r.url.includes('README') && !r.url.includes('pytorch')));
  // A second run finds the files complete and fetches nothing but the listing.
  server.requests = [];
  await downloadModel('org/tiny', { endpoint, cacheDir });
  assert.deepEqual(server.requests.map((r) => r.url), ['/api/models/org/tiny/revision/main']);
});

test('a cut connection leaves a .part; the next run resumes it with a Range request', async () => {
  const cacheDir = fresh();
  server.cutOnce.set('model.safetensors', 30_000);
  await assert.rejects(downloadModel('org/tiny', { endpoint, cacheDir }), (e: unknown) => e instanceof DownloadError && /resume/.test(e.message));
  const part = join(cacheDir, 'org--tiny', 'model.safetensors.part');
  const partSize = statSync(part).size;
  assert.ok(partSize > 0 && partSize <= 30_000, `part has ${partSize} bytes`);
  assert.equal(existsSync(join(cacheDir, 'org--tiny', 'model.safetensors')), false);
  server.requests = [];
  await downloadModel('org/tiny', { endpoint, cacheDir });
  assert.deepEqual(readFileSync(join(cacheDir, 'org--tiny', 'model.safetensors')), repoFiles['model.safetensors']);
  assert.equal(existsSync(part), false);
  const resumed = server.requests.find((r) => r.url.endsWith('model.safetensors'));
  assert.equal(resumed?.range, `bytes=${partSize}-`);
  assert.equal(server.requests.filter((r) => r.url.endsWith('model.safetensors')).length, 1);
});

test('a server that ignores Range (200) makes the download restart from byte 0', async () => {
  const cacheDir = fresh();
  server.cutOnce.set('model.safetensors', 10_000);
  await assert.rejects(downloadModel('org/tiny', { endpoint, cacheDir }), DownloadError);
  server.ignoreRange = true;
  try {
    await downloadModel('org/tiny', { endpoint, cacheDir });
  } finally {
    server.ignoreRange = false;
  }
  assert.deepEqual(readFileSync(join(cacheDir, 'org--tiny', 'model.safetensors')), repoFiles['model.safetensors']);
});

test('a failed download names its cause: DNS, refused connection, HTTP status', async () => {
  const cacheDir = fresh();
  const problem = async (p: Promise<unknown>) => p.then(() => 'downloaded', (e: unknown) => (e instanceof DownloadError ? e.problem : `not a DownloadError: ${String(e)}`));
  assert.match(await problem(downloadModel('org/tiny', { endpoint: `http://127.0.0.1:${await closedPort()}`, cacheDir })), /^connection refused \(ECONNREFUSED\)/);
  // .invalid never resolves (RFC 2606), online or off.
  assert.match(await problem(downloadModel('org/tiny', { endpoint: 'http://kvtrim-hub.invalid', cacheDir })), /^DNS lookup of kvtrim-hub\.invalid failed \((ENOTFOUND|EAI_AGAIN)\)/);
  assert.match(await problem(downloadModel('org/missing', { endpoint, cacheDir })), /^HTTP 404 Not Found \(no such repository, revision or file\)$/);
});

test('--files picks a GGUF; unknown files, bad repo ids and HTTP errors are DownloadErrors', async () => {
  const cacheDir = fresh();
  const { files } = await downloadModel('org/tiny', { endpoint, cacheDir, files: ['model-q8_0.gguf'] });
  assert.deepEqual(files, ['model-q8_0.gguf']);
  assert.deepEqual(readFileSync(join(cacheDir, 'org--tiny', 'model-q8_0.gguf')), repoFiles['model-q8_0.gguf']);
  await assert.rejects(downloadModel('org/tiny', { endpoint, cacheDir, files: ['nope.gguf'] }), /not in the repository: nope.gguf/);
  await assert.rejects(downloadModel('org/tiny', { endpoint, cacheDir, files: ['../escape'] }), /relative path/);
  await assert.rejects(downloadModel('org/../x', { endpoint, cacheDir }), /ORG\/NAME/);
  await assert.rejects(downloadModel('justname', { endpoint, cacheDir }), DownloadError);
  await assert.rejects(downloadModel('org/missing', { endpoint, cacheDir }), (e: unknown) => e instanceof DownloadError && /HTTP 404/.test(e.message));
  await assert.rejects(downloadModel('org/tiny', { endpoint: `http://127.0.0.1:${await closedPort()}`, cacheDir }), DownloadError);
});
