import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultModelPath } from '../../src/model/default-model.js';
import { startPlayground, type Playground } from '../../src/playground/playground-server.js';
import { buildBrowserBundle } from '../helpers/browser-bundle.js';

let isolated: Playground;
let plain: Playground;
before(async () => {
  buildBrowserBundle();
  isolated = await startPlayground({ model: defaultModelPath() });
  plain = await startPlayground({ model: defaultModelPath(), isolated: false });
});
after(async () => {
  await isolated?.close();
  await plain?.close();
});

test('the playground listens on loopback only', () => {
  assert.match(isolated.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
});

test('every response carries the cross-origin isolation headers, and none does with isolation off', async () => {
  for (const path of ['', 'playground.js', 'playground-worker.js', 'kvtrim.js', 'heatmap-client.js', 'kernels.wasm', 'model/', 'model/config.json', 'nothing-here']) {
    const on = await fetch(isolated.url + path);
    assert.equal(on.headers.get('cross-origin-opener-policy'), 'same-origin', path);
    assert.equal(on.headers.get('cross-origin-embedder-policy'), 'require-corp', path);
    assert.equal(on.headers.get('cross-origin-resource-policy'), 'same-origin', path);
    const off = await fetch(plain.url + path);
    assert.equal(off.headers.get('cross-origin-opener-policy'), null, path);
    assert.equal(off.headers.get('cross-origin-embedder-policy'), null, path);
  }
});

test("the default model's files are listed and served as they are on disk", async () => {
  const listing = (await (await fetch(isolated.url + 'model/')).json()) as { name: string; files: string[] };
  assert.equal(listing.name, 'kvtrim-tiny');
  assert.ok(listing.files.includes('model.safetensors') && listing.files.includes('tokenizer.json'));
  const served = new Uint8Array(await (await fetch(isolated.url + 'model/model.safetensors')).arrayBuffer());
  assert.deepEqual(served, new Uint8Array(readFileSync(join(defaultModelPath(), 'model.safetensors'))));
  assert.equal((await fetch(isolated.url + 'kernels.wasm')).headers.get('content-type'), 'application/wasm');
});

test('nothing outside the listing is served: escapes, other methods and malformed paths are refused', async () => {
  for (const path of ['model/%2e%2e%2fconfig.json', 'model/..%2f..%2fpackage.json', 'model/%2Fetc%2Fpasswd', '../package.json', 'package.json', 'build/kernels.wasm'])
    assert.equal((await fetch(isolated.url + path)).status, 404, path);
  assert.equal((await fetch(isolated.url, { method: 'POST', body: 'x' })).status, 405);
  assert.equal((await fetch(isolated.url + 'model/%E0%A4%A')).status, 400);
});

test('a model that is neither an HF folder nor a .gguf is refused by name', async () => {
  await assert.rejects(startPlayground({ model: '/no/such/model' }), /--model \/no\/such\/model: no such file or directory/);
  await assert.rejects(startPlayground({ model: join(defaultModelPath(), 'config.json') }), /an HF model folder or a \.gguf file/);
});
