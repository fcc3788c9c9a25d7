import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coreNodeImports, isNodeModule, specifiers } from '../../scripts/core-node-imports.js';

test('the core folders import no Node module and reach the host only through platform.ts', () => {
  assert.deepEqual(coreNodeImports(), []);
});

test('the scan sees Node imports in every spelling, and nothing else', () => {
  const source = [
    "import { readFileSync } from 'node:fs';",
    'import type { Worker } from "worker_threads";',
    "export * from 'path';",
    "const os = await import('node:os');",
    "const { parentPort } = require('node:worker_threads');",
    "import 'fs/promises';",
    "import { Session } from '../generate/session.js';",
    "import { Tokenizer } from '@huggingface/tokenizers';",
    "import { getLlama } from 'node-llama-cpp';",
  ].join('\n');
  const specs = specifiers(source);
  assert.equal(specs.length, 9);
  assert.deepEqual(specs.filter(isNodeModule), ['node:fs', 'worker_threads', 'path', 'node:os', 'node:worker_threads', 'fs/promises']);
});
