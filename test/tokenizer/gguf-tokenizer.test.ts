import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { parseGguf } from '../../src/formats/gguf.js';
import { knownPreTokenizers } from '../../src/tokenizer/gguf-pre-tokenizers.js';
import { ggufTokenizer } from '../../src/tokenizer/gguf-tokenizer.js';
import type { HfTokenizer } from '../../src/tokenizer/hf-tokenizer.js';
import { modelPath } from '../helpers/model-files.js';

const metadataOf = (rel: string) => parseGguf(readFileSync(modelPath(rel)), rel).metadata;
const cache = new Map<string, HfTokenizer>();
const vocab = (name: string) => {
  const rel = `llama-cpp-vocab/ggml-vocab-${name}.gguf`;
  if (!cache.has(rel)) cache.set(rel, ggufTokenizer(metadataOf(rel), rel));
  return cache.get(rel)!;
};

/** llama.cpp's test-tokenizer-0 vectors: inputs split on the separator, one line of expected ids each. */
function vectors(name: string): { text: string; ids: number[] }[] {
  const base = modelPath(`llama-cpp-vocab/ggml-vocab-${name}.gguf`);
  const inputs = readFileSync(`${base}.inp`, 'utf8').split('\n__ggml_vocab_test__\n').slice(0, -1);
  const lines = readFileSync(`${base}.out`, 'utf8').split('\n');
  assert.equal(inputs.length, 46);
  return inputs.map((text, i) => ({ text, ids: lines[i]!.trim() === '' ? [] : lines[i]!.trim().split(/\s+/).map(Number) }));
}

// Measured: every vocab here passes all 46 of llama.cpp's cases (no special-token parsing, no BOS).
for (const name of ['llama-spm', 'gpt-2', 'phi-3', 'deepseek-coder', 'deepseek-llm']) {
  test(`llama.cpp test vectors: ${name} 46/46`, () => {
    const tok = vocab(name);
    const failed = vectors(name).filter((v) => JSON.stringify(tok.encode(v.text, { addBos: false })) !== JSON.stringify(v.ids));
    assert.deepEqual(failed.map((v) => v.text), []);
  });
}

test('decoding the llama.cpp vectors gives the text back', () => {
  for (const name of ['llama-spm', 'gpt-2', 'deepseek-llm']) {
    const tok = vocab(name);
    for (const v of vectors(name)) {
      // SPM: the decoder strips exactly the one leading space the encoder's dummy prefix added.
      assert.equal(tok.decode(v.ids), v.text, `${name}: ${JSON.stringify(v.text)}`);
    }
  }
});

/** llama.cpp's SPM tokenizer, plainly: merge the best-scoring adjacent pair (leftmost on ties) until none is a piece. */
function naiveSpm(tokens: string[], scores: number[], text: string): number[] {
  const id = new Map(tokens.map((t, i) => [t, i]));
  const syms = Array.from('\u2581' + text.replaceAll(' ', '\u2581'));
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const t = id.get(syms[i]! + syms[i + 1]!);
      if (t !== undefined && scores[t]! > bestScore) {
        bestScore = scores[t]!;
        best = i;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best]! + syms[best + 1]!);
  }
  return syms.flatMap((s) => id.get(s) ?? [...Buffer.from(s, 'utf8')].map((b) => id.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!));
}

test('merges derived from scores reproduce plain SPM merging (stories260K.gguf, llama-spm)', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = 'the quick brown fox, and a dog. Ünï 你好 🦙\n';
  const texts = ['Once upon a time', 'hello world', 'aaaaaaaaaa', ...Array.from({ length: 60 }, () =>
    Array.from({ length: 1 + Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''))];
  for (const rel of ['stories260K/stories260K.gguf', 'llama-cpp-vocab/ggml-vocab-llama-spm.gguf']) {
    const meta = metadataOf(rel);
    const tok = ggufTokenizer(meta, rel);
    for (const t of texts) {
      assert.deepEqual(tok.encode(t, { addBos: false }), naiveSpm(meta['tokenizer.ggml.tokens'] as string[], meta['tokenizer.ggml.scores'] as number[], t), `${rel}: ${JSON.stringify(t)}`);
    }
  }
});

test('tokenizer.ggml.add_space_prefix = false drops the dummy prefix (and its stripping on decode)', () => {
  const meta = metadataOf('stories260K/stories260K.gguf');
  const plain = ggufTokenizer(meta, 'a.gguf');
  const bare = ggufTokenizer({ ...meta, 'tokenizer.ggml.add_space_prefix': false }, 'b.gguf');
  const text = 'Once upon a time';
  assert.equal(plain.encode(text, { addBos: false }).map((id) => plain.piece(id)).join(''), ' ' + text);
  assert.equal(bare.encode(text, { addBos: false }).map((id) => bare.piece(id)).join(''), text);
  assert.equal(bare.decode(bare.encode(' x')), ' x');
});

test("stories260K.gguf's vocab encodes the reference prompts exactly as run.c", () => {
  const tok = ggufTokenizer(metadataOf('stories260K/stories260K.gguf'), 'stories260K.gguf');
  const ref = JSON.parse(readFileSync(modelPath('stories260K/reference.json'), 'utf8')) as { cases: { prompt: string; prompt_ids: number[]; generated_ids: number[]; generated_text: string }[] };
  for (const c of ref.cases) {
    assert.deepEqual(tok.encode(c.prompt), c.prompt_ids);
    // The generated text continues the prompt, so its first piece keeps its space; decode strips it.
    assert.equal(c.generated_ids.map((id) => tok.piece(id)).join(''), c.generated_text);
  }
});

test('BOS, EOS, special ids and pieces follow the GGUF metadata', () => {
  const spm = vocab('llama-spm');
  assert.equal(spm.vocabSize, 32000);
  assert.equal(spm.bosId, 1);
  assert.deepEqual(spm.eosIds, [2]);
  const ids = spm.encode('Hello');
  assert.equal(ids[0], 1); // add_bos_token true
  assert.deepEqual(spm.encode('Hello', { addBos: false }), ids.slice(1));
  assert.equal(spm.encode('<s>Hello').filter((id) => id === 1).length, 1, 'no second BOS when the text starts with <s>');
  assert.equal(spm.piece(spm.encode('the', { addBos: false })[0]!), ' the');
  assert.equal(spm.piece(3 + 0x0a), '\n');
  assert.deepEqual([0, 1, 2, 3, 1000].map((id) => spm.isSpecial(id)), [true, true, true, false, false]);
  assert.equal(spm.decode([1, 15043, 2]), 'Hello');
  assert.equal(spm.decode([1, 15043, 2], { keepSpecial: true }), '<s> Hello</s>');

  const gpt2 = vocab('gpt-2');
  assert.equal(gpt2.encode('Hello')[0], 15496, 'gpt-2 adds no BOS');
  const dot = gpt2.encode(' .', { addBos: false });
  assert.equal(dot.length, 1);
  assert.equal(gpt2.piece(dot[0]!), ' .'); // the token 'Ġ.'
  assert.equal(gpt2.piece(gpt2.encode('.', { addBos: false })[0]!), '.');
  assert.ok(gpt2.isSpecial(50256) && !gpt2.isSpecial(15496));
  assert.deepEqual(gpt2.eosIds, [50256]);

  const phi3 = vocab('phi-3');
  assert.deepEqual(phi3.eosIds, [32000, 32007], 'eos plus <|end|>, which llama.cpp also stops on');
  assert.ok(phi3.isSpecial(32010));
  const deepseek = vocab('deepseek-coder');
  assert.equal(deepseek.bosId, 32013);
  assert.equal(deepseek.encode('x')[0], 32013);
});

test('GGUF chat template renders with the vocab\'s BOS', () => {
  const phi3 = vocab('phi-3');
  assert.ok(phi3.applyChatTemplate);
  const text = phi3.applyChatTemplate([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Why?' }], { addGenerationPrompt: true });
  assert.equal(text, '<s><|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nWhy?<|end|>\n<|assistant|>\n');
  const ids = phi3.encode(text);
  assert.deepEqual(ids.slice(0, 2), [1, 32010]);
  assert.equal(ids.filter((id) => id === 1).length, 1);
  assert.equal(vocab('llama-spm').applyChatTemplate, undefined);
});

/** A small byte-level BPE vocabulary: GPT-2's 256 byte symbols, its first merged pieces and their merges. */
function tinyGpt2(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const all = metadataOf('llama-cpp-vocab/ggml-vocab-gpt-2.gguf')['tokenizer.ggml.tokens'] as string[];
  return {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.tokens': all.slice(0, 260),
    'tokenizer.ggml.merges': ['Ġ t', 'Ġ a', 'h e', 'i n'],
    ...extra,
  };
}

test('every known tokenizer.ggml.pre compiles and splits text', () => {
  for (const pre of knownPreTokenizers()) {
    const tok = ggufTokenizer(tinyGpt2({ 'tokenizer.ggml.pre': pre }), `pre-${pre}.gguf`);
    const text = "Hello, y'all! 123 4567 你好 \n\n  x";
    assert.equal(tok.decode(tok.encode(text)), text, pre);
  }
});

test('bad GGUF tokenizer metadata gives a FormatError naming the file', () => {
  const bad = (meta: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => ggufTokenizer(meta, 'bad.gguf'), (e: unknown) => e instanceof FormatError && e.file === 'bad.gguf' && re.test(e.problem));
  bad({}, /no embedded tokenizer/);
  bad({ 'tokenizer.ggml.model': 'bert', 'tokenizer.ggml.tokens': ['a'] }, /not supported/);
  bad({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': [] }, /missing or empty/);
  bad({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': ['a', 'b'], 'tokenizer.ggml.scores': [0] }, /1 entries for 2 tokens/);
  bad({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': ['a', 3] }, /array of strings/);
  bad({ 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': ['a'], 'tokenizer.ggml.bos_token_id': 9 }, /not a token id/);
  bad(tinyGpt2({ 'tokenizer.ggml.pre': 'constructor' }), /unknown tokenizer.ggml.pre 'constructor'/);
  bad(tinyGpt2({ 'tokenizer.ggml.merges': ['nospace'] }), /not two space-separated/);
  bad({ ...tinyGpt2(), 'tokenizer.chat_template': '{% if %}' }, /chat template does not parse/);
});
