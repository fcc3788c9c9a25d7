import { FormatError } from '../formats/format-error.js';

/**
 * Merge text allowed per character of the vocabulary. Real SentencePiece vocabularies derive about 2
 * (Llama's 32,000 pieces: 162,024 characters, 61,249 merges of 329,061); a vocabulary such as
 * "a", "aa", "aaa", … derives merges cubic in its size, so it is refused instead of built.
 */
const MAX_MERGE_CHARS_PER_VOCAB_CHAR = 16;

/** A trie of pieces by code point; `id` marks a node where a piece ends (the last such piece wins, as a Map.set would). */
interface TrieNode {
  next: Map<string, TrieNode>;
  id: number | undefined;
}

/**
 * BPE merges equivalent to a SentencePiece vocabulary with scores, derived the way Hugging Face's
 * slow→fast converter does: every split `a b` of a mergeable piece where both halves are pieces, ranked
 * by that piece's score (highest first); ties keep piece-id order, then the halves' ids.
 * Linear in the vocabulary's length plus the merges it yields: the halves are found by walking a trie of
 * the pieces forwards and one of the reversed pieces backwards, not by slicing every split.
 */
export function mergesFromScores(
  pieces: readonly string[],
  scores: readonly number[],
  mergeable: (id: number) => boolean,
  file: string,
): [string, string][] {
  const codePoints = pieces.map((p) => Array.from(p));
  const forward = newNode();
  const backward = newNode();
  let vocabChars = 0;
  codePoints.forEach((cps, id) => {
    insert(forward, cps, id, false);
    insert(backward, cps, id, true);
    vocabChars += cps.length;
  });
  const maxMergeChars = MAX_MERGE_CHARS_PER_VOCAB_CHAR * vocabChars;
  let mergeChars = 0;
  const found: { left: string; right: string; score: number; order: number }[] = [];
  codePoints.forEach((cps, id) => {
    if (!mergeable(id) || cps.length < 2) return;
    const n = cps.length;
    // prefix[i]: id of the piece made of the first i code points; suffix[i]: of the last n - i.
    const prefix = walk(forward, cps, false);
    const suffix = walk(backward, cps, true);
    const local: { l: number; r: number }[] = [];
    for (let i = 1; i < n; i++) {
      const l = prefix[i];
      const r = suffix[n - i];
      if (l !== undefined && r !== undefined) local.push({ l, r });
    }
    if (local.length === 0) return;
    mergeChars += local.length * pieces[id]!.length;
    if (mergeChars > maxMergeChars)
      throw new FormatError(file, `the vocabulary's pieces split into more merge text than ${MAX_MERGE_CHARS_PER_VOCAB_CHAR} characters per vocabulary character`);
    local.sort((x, y) => x.l - y.l || x.r - y.r);
    for (const { l, r } of local) found.push({ left: pieces[l]!, right: pieces[r]!, score: scores[id] ?? 0, order: found.length });
  });
  found.sort((x, y) => y.score - x.score || x.order - y.order);
  return found.map((m) => [m.left, m.right]);
}

function newNode(): TrieNode {
  return { next: new Map(), id: undefined };
}

function insert(root: TrieNode, cps: readonly string[], id: number, reversed: boolean): void {
  let node = root;
  for (let k = 0; k < cps.length; k++) {
    const c = cps[reversed ? cps.length - 1 - k : k]!;
    let child = node.next.get(c);
    if (!child) node.next.set(c, (child = newNode()));
    node = child;
  }
  node.id = id;
}

/** ids[k]: the piece matching the first (or, reversed, the last) k code points, as far as the trie reaches. */
function walk(root: TrieNode, cps: readonly string[], reversed: boolean): (number | undefined)[] {
  const ids: (number | undefined)[] = [];
  let node: TrieNode | undefined = root;
  for (let k = 0; node && k < cps.length; k++) {
    node = node.next.get(cps[reversed ? cps.length - 1 - k : k]!);
    ids[k + 1] = node?.id;
  }
  return ids;
}
