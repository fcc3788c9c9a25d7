import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { ChatTemplateError } from '../../src/tokenizer/chat-template.js';
import { loadHfTokenizer } from '../../src/tokenizer/hf-tokenizer-files.js';
import { modelPath, needsExtraModels } from '../helpers/model-files.js';
import { CHATML_TEMPLATE } from '../helpers/tiny-tokenizer.js';

const tinystories = modelPath('tinystories-656K/');
/** The embedded model's tokenizer.json (the project's own, so these tests need nothing beside the clone). */
const embeddedJson = () =>
  JSON.parse(readFileSync(new URL('../../models/kvtrim-tiny/tokenizer.json', import.meta.url), 'utf8')) as Record<string, unknown> & { added_tokens: object[] };
const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-tok-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a model directory: tokenizer.json plus the given side files; returns the tokenizer.json path. */
function modelDir(name: string, files: Record<string, unknown>): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  return join(dir, 'tokenizer.json');
}


/** The embedded model's tokenizer (99 characters) with ChatML's two markers as special tokens 99, 100 and a plain added token 101. */
function chatmlTokenizerJson(): Record<string, unknown> {
  const marker = (id: number, content: string, special = true) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  return { ...embeddedJson(), added_tokens: [...embeddedJson().added_tokens, marker(99, '<|im_start|>'), marker(100, '<|im_end|>'), marker(101, '<|tool|>', false)] };
}

test('TinyStories-656K tokenizer.json: ids, BOS from the post-processor, pieces, specials', { skip: needsExtraModels }, () => {
  const tok = loadHfTokenizer(join(tinystories, 'tokenizer.json'));
  assert.equal(tok.vocabSize, 2048);
  assert.equal(tok.bosId, 1);
  assert.deepEqual(tok.eosIds, [2]);
  const ids = tok.encode('Once upon a time');
  // README: merges cross word boundaries: ▁ | On | ce▁ | upon▁a▁tim | e, after BOS from TemplateProcessing.
  assert.equal(ids[0], 1);
  assert.deepEqual(ids.slice(1).map((id) => tok.piece(id)), [' ', 'On', 'ce ', 'upon a tim', 'e']);
  assert.deepEqual(tok.encode('Once upon a time', { addBos: false }), ids.slice(1));
  assert.deepEqual(tok.encode('Once upon a time', { addBos: true }), ids);
  assert.equal(tok.decode(ids), 'Once upon a time');
  // As HF: the decoder strips one leading space of the whole text, here the BOS string's.
  assert.equal(tok.decode(ids, { keepSpecial: true }), '<|start_story|> Once upon a time');
  assert.equal(tok.decode([]), '');
  assert.equal(tok.decode([5000, -1]), '', 'ids outside the vocabulary decode to nothing');
  assert.deepEqual([0, 1, 2, 3, 100].map((id) => tok.isSpecial(id)), [true, true, true, false, false]);
  assert.equal(tok.piece(1), '<|start_story|>');
  assert.equal(tok.applyChatTemplate, undefined, 'no chat_template: no applyChatTemplate');
  // The BOS string at the start of a text is the BOS token, and is not doubled.
  assert.deepEqual(tok.encode('<|start_story|>Once'), tok.encode('<|start_story|>Once', { addBos: false }));
  // Characters outside the vocabulary (no byte tokens here) become <unk>, as the README says.
  assert.ok(tok.encode('🦙', { addBos: false }).includes(0));
});

test('a ChatML template from tokenizer_config.json renders exactly and its markers are single special tokens', () => {
  const path = modelDir('chatml', {
    'tokenizer.json': chatmlTokenizerJson(),
    'tokenizer_config.json': {
      chat_template: CHATML_TEMPLATE,
      bos_token: '<s>',
      eos_token: { content: '<|im_end|>', lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      additional_special_tokens: ['<|tool|>'],
    },
    'generation_config.json': { eos_token_id: [100, 2] },
  });
  const tok = loadHfTokenizer(path);
  assert.equal(tok.vocabSize, 102);
  assert.ok(tok.isSpecial(101), 'additional_special_tokens are special');
  assert.equal(tok.decode(tok.encode('<|tool|>', { addBos: false })), '');
  assert.deepEqual(tok.eosIds, [100, 2]);
  const messages = [
    { role: 'system', content: 'You tell stories.' },
    { role: 'user', content: 'Tell me one.' },
  ];
  assert.ok(tok.applyChatTemplate);
  const expected = '<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nTell me one.<|im_end|>\n<|im_start|>assistant\n';
  assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), expected);
  assert.equal(tok.applyChatTemplate(messages), expected.slice(0, -'<|im_start|>assistant\n'.length));
  const ids = tok.encode(expected, { addBos: false });
  assert.equal(ids.filter((id) => id === 99).length, 3);
  assert.equal(ids.filter((id) => id === 100).length, 2);
  assert.ok(tok.isSpecial(99) && tok.isSpecial(100));
  assert.equal(tok.decode(ids), 'system\nYou tell stories.\nuser\nTell me one.\nassistant\n');
  assert.equal(tok.decode(ids, { keepSpecial: true }), expected);
});

test('named template lists pick "default"; bos/eos may be objects; raise_exception is a ChatTemplateError', () => {
  const strict = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be the user') }}{% endif %}{{ bos_token }}[{{ messages[0]['content'] }}]{{ eos_token }}";
  const path = modelDir('named', {
    'tokenizer.json': embeddedJson(),
    'tokenizer_config.json': {
      chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: strict }],
      bos_token: { content: '<s>' },
      eos_token: '</s>',
    },
  });
  const tok = loadHfTokenizer(path);
  assert.equal(tok.applyChatTemplate!([{ role: 'user', content: 'hi' }]), '<s>[hi]</s>');
  assert.throws(() => tok.applyChatTemplate!([{ role: 'assistant', content: 'x' }]), (e: unknown) => e instanceof ChatTemplateError && /first message must be the user/.test(e.message));
  // A chat_template.jinja file is used when tokenizer_config.json has none.
  const jinja = loadHfTokenizer(modelDir('jinja', { 'tokenizer.json': embeddedJson(), 'chat_template.jinja': '{{ messages | length }}' }));
  assert.equal(jinja.applyChatTemplate!([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }]), '2');
});

test('bos_token null in tokenizer_config.json means no BOS even when config.json names one', () => {
  const noBos = { ...embeddedJson(), post_processor: null };
  const tok = loadHfTokenizer(modelDir('nobos', { 'tokenizer.json': noBos, 'tokenizer_config.json': { bos_token: null }, 'config.json': { bos_token_id: 1, eos_token_id: 2 } }));
  assert.equal(tok.bosId, undefined);
  assert.deepEqual(tok.eosIds, [2]);
  assert.notEqual(tok.encode('Once', { addBos: true })[0], 1);
  const fromConfig = loadHfTokenizer(modelDir('cfgbos', { 'tokenizer.json': noBos, 'config.json': { bos_token_id: 1 } }));
  assert.equal(fromConfig.bosId, 1);
  assert.notEqual(fromConfig.encode('Once')[0], 1, 'default follows the post-processor (none here)');
  assert.equal(fromConfig.encode('Once', { addBos: true })[0], 1);
});

test('malformed tokenizer files give a FormatError naming the file', () => {
  const fails = (files: Record<string, unknown>, name: string, re: RegExp) =>
    assert.throws(() => loadHfTokenizer(modelDir('bad', files)), (e: unknown) => e instanceof FormatError && e.file.endsWith(name) && re.test(e.problem));
  fails({ 'tokenizer.json': '{ not json' }, 'tokenizer.json', /not valid JSON/);
  fails({ 'tokenizer.json': '[1, 2]' }, 'tokenizer.json', /JSON object/);
  fails({ 'tokenizer.json': { added_tokens: [] } }, 'tokenizer.json', /not a usable tokenizer/);
  fails({ 'tokenizer.json': embeddedJson(), 'tokenizer_config.json': '{' }, 'tokenizer_config.json', /not valid JSON/);
  fails({ 'tokenizer.json': embeddedJson(), 'tokenizer_config.json': { chat_template: 42 } }, 'tokenizer_config.json', /chat_template must be/);
  fails({ 'tokenizer.json': embeddedJson(), 'tokenizer_config.json': { chat_template: '{% for %}' } }, 'tokenizer_config.json', /does not parse/);
  assert.throws(() => loadHfTokenizer(join(tmp, 'nowhere', 'tokenizer.json')), FormatError);
});
