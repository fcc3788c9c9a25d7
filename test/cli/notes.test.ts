import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chatPrompt } from '../../src/cli/chat-prompt.js';
import { compressionNotes } from '../../src/cli/compression-notes.js';
import { pressNotes } from '../../src/cli/presses.js';
import { generateError } from '../helpers/cli-command.js';
import { Session } from '../../src/generate/session.js';
import { createPress } from '../../src/press/registry.js';
import { splitShots } from '../../src/press/split-shots.js';
import { tinyModel } from '../press/fixtures.js';

const { model, tokenizer } = tinyModel({ maxSeqLen: 24 });


test('--chat on a model without a template is refused naming --chat-template; a template file renders the prompt', async () => {
  assert.equal(tokenizer.applyChatTemplate, undefined, 'the test tokenizer has no template');
  assert.throws(() => chatPrompt(tokenizer, 'hi'), /no chat template; pass one with --chat-template FILE/);
  const file = join(mkdtempSync(join(tmpdir(), 'kvtrim-chat-')), 'chat.jinja');
  writeFileSync(file, '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}');
  assert.equal(chatPrompt(tokenizer, 'hi', file), `${tokenizer.decode([tokenizer.bosId!], { keepSpecial: true })}[user] hi\n[assistant] `);
  assert.throws(() => chatPrompt(tokenizer, 'hi', '/nonexistent/t.jinja'), /--chat-template \/nonexistent\/t\.jinja: no such file/);
  assert.match(await generateError('--chat-template', file), /--chat-template needs --chat/);
});

test('a press that cannot act says why: ShotKV without shots, FastGen given --ratio, --kv-quant inside the full-precision window', () => {
  const session = (prompt: string, press: string) => {
    const s = new Session(model, tokenizer, { compression: { press, ratio: 0.5 } });
    s.prefill(prompt, { segments: splitShots(prompt) });
    return s;
  };
  const noShots = session('one block only', 'shotkv');
  assert.deepEqual(compressionNotes({ press: createPress('shotkv'), segments: noShots.segments, cache: noShots.cache }), [
    '--press shotkv found no shot in the prompt, so it dropped nothing: separate the examples with a blank line or name the separator with --shot-separator',
  ]);
  const shots = session('ab\n\ncd\n\nq', 'shotkv');
  assert.deepEqual(compressionNotes({ press: createPress('shotkv'), segments: shots.segments, cache: shots.cache }), [], 'shots found: nothing to say');
  const fg = compressionNotes({ press: createPress('fastgen'), ratio: 0.5, segments: [], cache: shots.cache });
  assert.match(fg.join('\n'), /--press fastgen keeps what its threshold \(--press-param threshold=…\) decides, not a share set by --ratio/);
  assert.deepEqual(compressionNotes({ press: createPress('fastgen'), segments: [], cache: shots.cache }), [], 'no --ratio given: no note');
  const kivi = { bits: 8 as const, group: 4, residual: 8 };
  const q = new Session(model, tokenizer, { kvQuant: kivi });
  q.prefill('short');
  assert.match(compressionNotes({ segments: [], kvQuant: kivi, cache: q.cache }).join(''), /the prompt's 6 tokens lie inside the 8-token full-precision window/);
  q.prefill(' and longer');
  assert.deepEqual(compressionNotes({ segments: [], kvQuant: kivi, cache: q.cache }), []);
});

test('a generation that reaches the end of the context says so (finish = context), unlike one that reaches its token limit', async () => {
  const s = new Session(model, tokenizer);
  s.prefill('twenty-chars prompt');
  for await (const _ of s.generate({ maxTokens: 100, stopTokens: [] }));
  assert.equal(s.cache.seen, 24);
  assert.equal(s.finish, 'context');
  const t = new Session(model, tokenizer);
  t.prefill('short');
  for await (const _ of t.generate({ maxTokens: 3 }));
  assert.equal(t.finish, 'length');
});

test('kvtrim presses says which presses run attention in TypeScript (attention sums), need shots, or ignore --ratio', () => {
  assert.match(pressNotes(createPress('h2o')).join('\n'), /attention runs in TypeScript/);
  assert.match(pressNotes(createPress('fastgen'), 'threshold').join('\n'), /its memory is set by threshold, not by --ratio/);
  assert.match(pressNotes(createPress('shotkv', { accumulate: true })).join('\n'), /needs the prompt in shots[^]*attention runs in TypeScript/);
  assert.deepEqual(pressNotes(createPress('snapkv')), [], 'SnapKV stays on the WebAssembly kernel');
});
