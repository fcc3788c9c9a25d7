/**
 * LongBench's metrics, written from their definitions. Chinese text is split into characters where
 * LongBench uses jieba words, and Rouge-L is the plain token-level LCS F1; both are close to, not
 * identical with, the official numbers.
 */

/** Python's string.punctuation, which SQuAD-style normalisation deletes. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** SQuAD / LongBench answer normalisation: lowercase, drop punctuation, drop articles, collapse whitespace. */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(ASCII_PUNCTUATION, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

/** Chinese normalisation: lowercase, drop all punctuation, symbols and whitespace; one token per character. */
function chineseTokens(text: string): string[] {
  return [...text.toLowerCase().replace(/[\p{P}\p{S}\s]/gu, '')];
}

const words = (text: string) => normalizeAnswer(text).split(' ').filter(Boolean);

/** F1 of the multiset overlap of two token lists. */
export function tokenF1(pred: readonly string[], truth: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const t of truth) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const p = same / pred.length;
  const r = same / truth.length;
  return (2 * p * r) / (p + r);
}

export const qaF1 = (pred: string, truth: string): number => tokenF1(words(pred), words(truth));
export const qaF1Zh = (pred: string, truth: string): number => tokenF1(chineseTokens(pred), chineseTokens(truth));

/** Length of the longest common subsequence. */
function lcs<T>(a: readonly T[], b: readonly T[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** Rouge-L F1 = 2·LCS / (|pred| + |truth|), over tokens. */
function rougeLTokens(pred: readonly string[], truth: readonly string[]): number {
  return pred.length + truth.length === 0 ? 0 : (2 * lcs(pred, truth)) / (pred.length + truth.length);
}

/** Rouge-L F over lowercase words (punctuation split off). */
export const rougeL = (pred: string, truth: string): number => rougeLTokens(pred.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [], truth.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
export const rougeLZh = (pred: string, truth: string): number => rougeLTokens(chineseTokens(pred), chineseTokens(truth));

/**
 * Classification (TREC, LSHT): the classes named in the output, ignoring those that are only part
 * of the true class's name; 1/(number named) if the true class is among them, else 0.
 */
export function classificationScore(pred: string, truth: string, classes: readonly string[]): number {
  const named = classes.filter((c) => pred.includes(c) && !(c !== truth && truth.includes(c)));
  return named.includes(truth) ? 1 / named.length : 0;
}

/** Passage retrieval: the share of the numbers in the output that are the true paragraph's ("Paragraph 3" / "段落3"). */
export function retrievalScore(pred: string, truth: string): number {
  const id = /(?:Paragraph |段落)(\d+)/.exec(truth)?.[1];
  const nums = pred.match(/\d+/g) ?? [];
  return id === undefined || !nums.length ? 0 : nums.filter((n) => n === id).length / nums.length;
}

/** Passage count: the share of the numbers in the output that equal the true count. */
export function countScore(pred: string, truth: string): number {
  const nums = pred.match(/\d+/g) ?? [];
  return nums.length ? nums.filter((n) => n === truth.trim()).length / nums.length : 0;
}

/**
 * Code completion (LCC, RepoBench-P): the first output line that is not a comment or a fence,
 * compared with the true line by character similarity 2·LCS/(|a|+|b|) (the indel ratio fuzzywuzzy reports ×100).
 */
export function codeSimScore(pred: string, truth: string): number {
  const line = pred.replace(/^\n+/, '').split('\n').find((l) => !l.includes('`') && !l.includes('#') && !l.includes('//')) ?? '';
  return rougeLTokens([...line], [...truth]);
}
