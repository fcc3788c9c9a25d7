import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseGguf } from '../../src/formats/gguf.js';
import { ggufTokenizer } from '../../src/tokenizer/gguf-tokenizer.js';
import { loadHfTokenizer } from '../../src/tokenizer/hf-tokenizer-files.js';
import { parseLlama2cTokenizer } from '../../src/tokenizer/llama2c-tokenizer.js';
import { TextStreamer } from '../../src/tokenizer/text-streamer.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';

const file = (rel: string) => readFileSync(modelPath(rel));
const tokenizers: [string, () => Tokenizer, string | false][] = [
  ['llama2.c', () => parseLlama2cTokenizer(file('stories260K/tok512.bin'), 'tok512.bin'), false],
  ['gguf spm', () => ggufTokenizer(parseGguf(file('llama-cpp-vocab/ggml-vocab-llama-spm.gguf'), 'spm').metadata, 'spm'), false],
  ['gguf byte-level', () => ggufTokenizer(parseGguf(file('llama-cpp-vocab/ggml-vocab-gpt-2.gguf'), 'gpt2').metadata, 'gpt2'), false],
  ['tokenizer.json', () => loadHfTokenizer(modelPath('tinystories-656K/tokenizer.json')), needsExtraModels],
];

const TEXT = 'Zoë saw 🦙 and 你好, then “quotes”… 😶‍🌫️ done.';

function stream(tok: Tokenizer, ids: readonly number[]): string[] {
  const s = new TextStreamer(tok);
  return [...ids.map((id) => s.push(id)), s.flush()];
}

for (const [name, load, skip] of tokenizers) {
  test(`${name}: streamed pieces never split a character and join to the text`, { skip }, () => {
    const tok = load();
    const ids = tok.encode(TEXT, { addBos: false });
    const chunks = stream(tok, ids);
    for (const c of chunks) assert.ok(!c.includes('\uFFFD'), `${name}: broken character in ${JSON.stringify(c)}`);
    const joined = chunks.join('');
    // The stream is surface text: the encoder's dummy-prefix space stays (decode strips it). TinyStories'
    // vocabulary has no byte tokens, so its unknown characters are <unk>, which streams as nothing.
    assert.equal(joined.trimStart(), tok.decode(ids).trimStart());
    assert.ok(chunks.some((c) => c === ''), `${name}: something was held back`);
  });
}

test('multi-byte characters are held until complete, special tokens stream as nothing, flush emits what is held', () => {
  const tok = tokenizers[0]![1](); // llama2.c: 🦙 is four <0xXX> tokens (id = byte + 3)
  const bytes = [...Buffer.from('🦙', 'utf8')].map((b) => b + 3);
  const s = new TextStreamer(tok);
  assert.deepEqual(bytes.map((id) => s.push(id)), ['', '', '', '🦙']);
  assert.equal(s.push(2), '');
  assert.equal(s.push(259), ' t');
  assert.equal(s.push(bytes[0]!), '');
  assert.equal(s.flush(), '\uFFFD', 'an incomplete character at the end is shown as U+FFFD');
  assert.equal(s.flush(), '');
  // A special token arriving mid-character releases what was held.
  s.push(bytes[0]!);
  assert.equal(s.push(1), '\uFFFD');
});

test('a leading space survives when held tokens are decoded together', () => {
  const tok = tokenizers[2]![1](); // GPT-2: ' 你' is 'Ġä½' + ... partial bytes in one token
  const ids = tok.encode(' 你', { addBos: false });
  assert.ok(ids.length > 1);
  assert.equal(stream(tok, ids).join(''), ' 你');
});
