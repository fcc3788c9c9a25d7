import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { CHAT_TEMPLATE_LIMITS, ChatTemplate, ChatTemplateError } from '../../src/tokenizer/chat-template.js';
import { ggufTokenizer } from '../../src/tokenizer/gguf-tokenizer.js';
import { loadHfTokenizer } from '../../src/tokenizer/hf-tokenizer-files.js';
import { loadTokenizer } from '../../src/tokenizer/load-tokenizer.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { rejectsQuickly } from '../helpers/rejects-quickly.js';
import { tinyTokenizerJson } from '../helpers/tiny-tokenizer.js';

// The tokenizer reproductions of issue 27, each a typed error within a second.
const dir = mkdtempSync(join(tmpdir(), 'kvtrim-hostile-tok-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tokenizerDir(name: string, json: Record<string, unknown>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'tokenizer.json'), JSON.stringify(json));
  return join(d, 'tokenizer.json');
}

test('tokenizer.json post_processor {"type":"TemplateProcessing","single":5} is a FormatError, not the library\'s TypeError', async () => {
  assert.equal(loadHfTokenizer(tokenizerDir('ok', tinyTokenizerJson())).vocabSize, 37);
  const path = tokenizerDir('post', { ...tinyTokenizerJson(), post_processor: { type: 'TemplateProcessing', single: 5 } });
  await rejectsQuickly(() => loadHfTokenizer(path), FormatError, /tokenizer\.json: not a usable tokenizer: /, 500);
});

test('a tokenizer with ids beyond the model\'s vocabulary is refused at load, not at the first forward pass', async () => {
  const hf = join(dir, 'model');
  writeHfModel(hf, randomModel(tinyConfig(), 1));
  const json = tinyTokenizerJson() as { added_tokens: object[] };
  writeFileSync(join(hf, 'tokenizer.json'), JSON.stringify(json));
  assert.equal((await loadTokenizer(loadCheckpoint(hf))).vocabSize, 37);
  json.added_tokens.push({ id: 40, content: '<|tool|>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false });
  writeFileSync(join(hf, 'tokenizer.json'), JSON.stringify(json));
  await rejectsQuickly(() => loadTokenizer(loadCheckpoint(hf)), FormatError, /the tokenizer has 41 ids, the model's vocabulary only 37/, 500);
});

/** GGUF `llama` (SentencePiece) tokenizer metadata: <unk>, <s>, </s>, letters, their pairs, and `extra`. */
function spmMetadata(extra: string[]): Record<string, unknown> {
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  const tokens = ['<unk>', '<s>', '</s>', '▁', ...letters, ...letters.map((l) => l + l), ...extra];
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': tokens.map((_, i) => -i),
    'tokenizer.ggml.token_type': tokens.map((_, i) => (i < 3 ? 3 : 1)),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
  };
}

test('a 20,000- or 100,000-character GGUF token loads in well under a second (merges are linear in token length)', async () => {
  for (const n of [20_000, 100_000]) {
    const t0 = performance.now();
    const meta = spmMetadata(['x'.repeat(n)]);
    const tok = ggufTokenizer(meta, 'long.gguf');
    assert.ok(performance.now() - t0 < 1000, `${n} chars took ${(performance.now() - t0).toFixed(0)} ms`);
    const id = (t: string) => (meta['tokenizer.ggml.tokens'] as string[]).indexOf(t);
    assert.deepEqual(tok.encode('aa b', { addBos: false }), [id('▁'), id('aa'), id('▁'), id('b')], 'a a merges to "aa" through the letters\' pair');
  }
});

test('a vocabulary whose merges would grow cubically ("a", "aa", "aaa", …) is a FormatError at once', async () => {
  const runs = Array.from({ length: 2000 }, (_, i) => 'q'.repeat(i + 3));
  await rejectsQuickly(() => ggufTokenizer(spmMetadata(runs), 'cubic.gguf'), FormatError, /more merge text than 16 characters per vocabulary character/, 1000);
});

const render = (source: string) => () => new ChatTemplate(source, {}, 'tokenizer_config.json').render([{ role: 'user', content: 'hi' }]);

test('chat templates stop at their limits with an error naming the limit: range, loops, time, string and list growth, huge numbers', async () => {
  await rejectsQuickly(render('{% for i in range(100000000) %}x{% endfor %}'), ChatTemplateError, /exceeds .* \(the limit\)/, 500);
  await rejectsQuickly(render('{% for i in range(200000) %}x{% endfor %}'), ChatTemplateError, /range\(\) of 200000 items exceeds 100000 \(the limit\)/, 500);
  const nested = '{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}';
  await rejectsQuickly(render(nested), ChatTemplateError, /(evaluation steps|took more than \d+ ms) \(the limit\)/, CHAT_TEMPLATE_LIMITS.millis + 1000);
  await rejectsQuickly(render("{% set s = 'xx' %}{% for i in range(60) %}{% set s = s + s %}{% endfor %}{{ s }}"), ChatTemplateError, /a string of more than \d+ characters \(the limit\)/, 500);
  await rejectsQuickly(render('{% set ns = namespace(a=[1]) %}{% for i in range(40) %}{% set ns.a = ns.a + ns.a %}{% endfor %}'), ChatTemplateError, /a list of more than 100000 items/, 500);
  await rejectsQuickly(render("{{ 'a\\nb' | indent(1000000000) }}"), ChatTemplateError, /the number 1000000000 exceeds/, 500);
  // Within the limits a template renders as before, globals included.
  assert.equal(render("{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %} {{ range(1, 10, 3) | join(',') }} {{ True }}")(), 'user:hi 1,4,7 true');
  assert.match(render("{{ strftime_now('%d %b %Y') }}")(), /^\d\d [A-Z][a-z]{2} \d{4}$/);
  assert.throws(render("{{ raise_exception('roles must alternate') }}"), (e: unknown) => e instanceof ChatTemplateError && /roles must alternate/.test(e.message));
});
