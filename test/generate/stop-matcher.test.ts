import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StopMatcher } from '../../src/generate/stop-matcher.js';

function feed(stops: string[], chunks: string[]): { out: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  let out = '';
  for (const c of chunks) {
    const r = m.push(c);
    out += r.text;
    if (r.stopped) return { out, stopped: true };
  }
  return { out: out + m.flush(), stopped: false };
}

test('a stop string split across chunks ends the text before it', () => {
  assert.deepEqual(feed(['END'], ['abc E', 'N', 'D tail']), { out: 'abc ', stopped: true });
  assert.deepEqual(feed(['\n\n', 'Q:'], ['one\n', 'two Q', ':x']), { out: 'one\ntwo ', stopped: true });
});

test('held-back prefixes are released when they do not complete a stop string', () => {
  const m = new StopMatcher(['END']);
  assert.equal(m.push('xE').text, 'x');
  assert.equal(m.push('Nd').text, 'ENd');
  assert.deepEqual(feed(['END'], ['aE', 'N']), { out: 'aEN', stopped: false });
});

test('without stop strings text passes through unchanged', () => {
  assert.deepEqual(feed([], ['a', 'b', 'c']), { out: 'abc', stopped: false });
});
