import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { hostPlatform as browser, mountFiles, unmountFiles } from '../../src/platform/browser-platform.js';

after(unmountFiles);

test("the browser platform's files are the mounted blobs, with folders implied by their paths", () => {
  unmountFiles();
  mountFiles([
    ['/drop/model/config.json', new Blob(['{}'])],
    ['drop/model/model.safetensors', new Blob([new Uint8Array(40)])],
    ['/drop/model/sub/extra.txt', new Blob(['x'])],
  ]);
  assert.deepEqual(browser.stat('/drop/model/model.safetensors'), { isFile: true, isDirectory: false, size: 40 });
  assert.deepEqual(browser.stat('/drop/model/'), { isFile: false, isDirectory: true, size: 0 });
  assert.deepEqual(browser.listDir('/drop/model').sort(), ['config.json', 'model.safetensors', 'sub']);
  assert.deepEqual(browser.listDir('/'), ['drop']);
  assert.equal(browser.exists('/drop/model/sub'), true);
  assert.equal(browser.exists('/drop/mod'), false, 'a name prefix is not a folder');
  assert.throws(() => browser.stat('/drop/none.gguf'), /ENOENT: no such file or directory, '\/drop\/none\.gguf'/);
  assert.throws(() => browser.listDir('/drop/model/config.json'), /ENOENT/);
  unmountFiles();
  assert.equal(browser.exists('/drop/model/config.json'), false);
});

test('its paths are POSIX paths from the mount root, whatever the slashes and dots', () => {
  assert.equal(browser.join('/drop/model', 'config.json'), '/drop/model/config.json');
  assert.equal(browser.join('drop//model/', './sub', '../tokenizer.json'), '/drop/model/tokenizer.json');
  assert.equal(browser.dirname('/drop/model/config.json'), '/drop/model');
  assert.equal(browser.dirname('/model.gguf'), '/');
  assert.equal(browser.basename('/drop/model/model.gguf'), 'model.gguf');
});

test('its UTF-8 slices decode ranges of shared memory too (where the backend reads weights)', () => {
  const text = 'héllo wörld ✓';
  const encoded = new TextEncoder().encode(text);
  const shared = new Uint8Array(new SharedArrayBuffer(encoded.length + 4), 2, encoded.length);
  shared.set(encoded);
  const slice = browser.utf8Slicer(shared);
  assert.equal(slice(0, encoded.length), text);
  assert.equal(slice(7, 13), 'wörld');
});

test('outside a dedicated worker, reading a mounted file says where kvtrim must run', () => {
  mountFiles([['/a.gguf', new Blob(['x'])]]);
  assert.throws(() => browser.open('/a.gguf'), /kvtrim reads files in a dedicated worker \(FileReaderSync\)/);
  assert.throws(() => browser.open('/b.gguf'), /ENOENT/);
});
