import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { LAYERS, backEdges } from '../../scripts/import-layers.js';

test('every folder of src/ has a place in the layer order', () => {
  const folders = readdirSync(new URL('../../src/', import.meta.url), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const f of folders) assert.ok((LAYERS as readonly string[]).includes(f), `src/${f} is not in LAYERS`);
});

test('no import runs back up the layers (file → weights → forward → cache ⇄ press → tokens → harness)', () => {
  assert.deepEqual(backEdges().map((e) => `${e.from} → ${e.to}`), []);
});
