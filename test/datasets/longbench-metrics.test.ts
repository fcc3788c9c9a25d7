import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classificationScore, codeSimScore, countScore, normalizeAnswer, qaF1, qaF1Zh, retrievalScore, rougeL, tokenF1 } from '../../src/eval/datasets/longbench-metrics.js';

const close = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('QA-F1 by hand: normalisation, overlap, repeats', () => {
  assert.equal(normalizeAnswer("The U.S.A.'s  answer,\tan Apple!"), 'usas answer apple');
  close(qaF1('the cat sat', 'cat sat on'), 0.8, 'P=2/2, R=2/3'); // "the" is dropped: pred [cat, sat]
  close(qaF1('The Cat, sat!', 'cat sat'), 1);
  close(qaF1('cat cat cat', 'cat dog'), 0.4, 'P=1/3, R=1/2');
  close(qaF1('dog', 'cat'), 0);
  close(qaF1('the', 'a'), 0, 'nothing left after normalisation');
  close(qaF1Zh('北京市。', '北京'), 0.8, 'characters: P=2/3, R=1');
});

test('Rouge-L, classification, retrieval, count and code similarity by hand', () => {
  close(rougeL('the cat sat on the mat', 'The cat lay on the mat.'), 10 / 12, 'LCS 5 of 6 and 6');
  close(rougeL('', 'x'), 0);
  const classes = ['city', 'capital city', 'country'];
  close(classificationScore('capital city', 'capital city', classes), 1, '"city" is part of the truth and ignored');
  close(classificationScore('capital city or country', 'capital city', classes), 0.5);
  close(classificationScore('city', 'capital city', classes), 0);
  close(classificationScore('capital city', 'city', classes), 0.5, 'the truth named, plus another class');
  close(retrievalScore('Paragraph 3', 'Paragraph 3'), 1);
  close(retrievalScore('Paragraph 3, maybe Paragraph 13', 'Paragraph 3'), 0.5);
  close(retrievalScore('no idea', 'Paragraph 3'), 0);
  close(retrievalScore('段落2', '段落2'), 1);
  close(countScore('There are 5 unique paragraphs.', '5'), 1);
  close(countScore('5 or 6', '5'), 0.5);
  close(countScore('none', '5'), 0);
  close(codeSimScore('\n# next line\n```\n    return x + 1\nmore', '    return x + 1'), 1, 'comments and fences skipped');
  close(codeSimScore('abc', 'abd'), 4 / 6, 'LCS 2 of 3 and 3');
  close(codeSimScore('# only a comment', 'x'), 0);
});

/** Naive references: overlap as Σ_token min(count), LCS by trying every subsequence of the shorter list. */
function naiveF1(p: string[], t: string[]): number {
  let same = 0;
  for (const w of new Set(p)) same += Math.min(p.filter((x) => x === w).length, t.filter((x) => x === w).length);
  if (!same) return 0;
  const P = same / p.length;
  const R = same / t.length;
  return (2 * P * R) / (P + R);
}
function naiveLcs(a: string[], b: string[]): number {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  let best = 0;
  for (let mask = 0; mask < 1 << short.length; mask++) {
    const sub = short.filter((_, i) => mask & (1 << i));
    let j = 0;
    for (const x of long) if (j < sub.length && x === sub[j]) j++;
    if (j === sub.length) best = Math.max(best, sub.length);
  }
  return best;
}

test('F1 and Rouge-L agree with naive float64 references on random token lists', () => {
  let s = 7;
  const rand = (k: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % k;
  };
  const vocab = ['x', 'y', 'z', 'w'];
  for (let trial = 0; trial < 300; trial++) {
    const p = Array.from({ length: rand(9) }, () => vocab[rand(4)]!);
    const t = Array.from({ length: 1 + rand(9) }, () => vocab[rand(4)]!);
    close(tokenF1(p, t), naiveF1(p, t), `${p} | ${t}`);
    const want = p.length ? (2 * naiveLcs(p, t)) / (p.length + t.length) : 0;
    close(rougeL(p.join(' '), t.join(' ')), want, `rouge ${p} | ${t}`);
  }
});
