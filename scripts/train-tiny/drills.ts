import type { Rng } from '../../src/generate/rng.js';
import { COMMONSENSE_RULES, commonsenseReason, drawCommonsense, OPTION_LETTERS } from '../../src/eval/tasks/commonsense.js';
import { choice, digits, int, sample, shuffled } from '../../src/eval/tasks/pick.js';
import { retrievalTask } from '../../src/eval/tasks/retrieval.js';
import { SAFETY_TOPICS, safetyTurn } from '../../src/eval/tasks/safety.js';
import { promptOf, TRAINING_SEED_BASE } from '../../src/eval/tasks/task.js';

/** A piece of a training document and the loss weight of predicting its characters. */
export type Piece = readonly [text: string, weight: number];

/**
 * Training-only drills: each isolates one mechanism the abilities' answers need and puts many graded
 * characters in few positions. Their random parts weigh 0: only what can be predicted is worth learning.
 */
export const DRILL_NAMES = ['copy', 'lookup', 'sum', 'needle', 'option', 'rule', 'pick'] as const;
export type DrillName = (typeof DRILL_NAMES)[number];

/** Each drill's weight in the data mix, under the name the saved run options use (`copyShare`). */
export type DrillShares = Record<`${DrillName}Share`, number>;
export const shareKey = (name: DrillName): keyof DrillShares => `${name}Share`;
/** The shares of every drill, each given by `share`. */
export const drillShares = (share: (name: DrillName) => number): DrillShares =>
  Object.fromEntries(DRILL_NAMES.map((name) => [shareKey(name), share(name)])) as DrillShares;

/** Curricula inside the drills: shorter key lists for the lookup drill, short answer lines for the option drill. */
export interface DrillOptions {
  /** Key lines per lookup document: 2 to this many (0 = up to 900 characters). */
  lookupMaxLines: number;
  /** Probability that an option-drill answer line is the short `word:` form instead of the task's line. */
  optionShortShare: number;
  /** A short line keeps 0 to this many of the property's words (`word can:`): the distance from word to letter grows. */
  optionShortWords: number;
  /** Probability that an option-drill document is in the commonsense task's Q/A form (several lists, the last one asked). */
  optionTaskShare: number;
}
/** Every curriculum off: the drills as they were before any of them existed. */
export const NO_CURRICULA: DrillOptions = { lookupMaxLines: 0, optionShortShare: 0, optionShortWords: 0, optionTaskShare: 0 };

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `Copy: <random words>` → the same words: copying from the prompt. */
function copy(rng: Rng): Piece[] {
  const words = Array.from({ length: int(rng, 2, 16) }, () => Array.from({ length: int(rng, 1, 7) }, () => ALPHANUMERIC[int(rng, 0, ALPHANUMERIC.length - 1)]).join(''));
  return [[`Copy: ${words.join(' ')}\nA:`, 0], [` ${words.join(' ')}\n`, 1]];
}

/**
 * Key-value lines in the retrieval task's form, then several of its questions: finding a key and copying its value,
 * with up to eight graded answers per document instead of one. `maxLines` > 0 keeps the lists short (2 to maxLines
 * lines, a curriculum: with few keys a partial match already finds the line); 0 fills up to 900 characters.
 */
function lookup(rng: Rng, T: number, { lookupMaxLines: maxLines }: DrillOptions): Piece[] {
  const lines = new Map<string, string>();
  const target = maxLines > 0 ? 16 * int(rng, 2, Math.max(2, maxLines)) : int(rng, 48, Math.max(48, Math.min(900, T - 250)));
  for (let chars = 0; chars < target; ) {
    const key = digits(rng, 3);
    if (lines.has(key)) continue;
    lines.set(key, digits(rng, 4));
    chars += 16;
  }
  const keys = [...lines.keys()];
  const context = keys.map((k) => `key ${k} = ${lines.get(k)}.`).join('\n') + '\n';
  const pieces: Piece[] = [[context, 0]];
  // Each question and answer takes 27 characters; the document must fit a row of T.
  for (let q = Math.max(1, Math.min(int(rng, 2, 8), Math.floor((T - context.length - 4) / 27))); q > 0; q--) {
    const key = choice(rng, keys);
    pieces.push([`Q: What is key ${key}?\nA:`, 0], [` ${lines.get(key)}\n`, 1]);
  }
  return pieces;
}

/** A chain of the arithmetic answers' steps (`47+8=55. 55*2=110.`): results weigh 1, the random operands 0. */
function sum(rng: Rng): Piece[] {
  let a = int(rng, 1, 99);
  const pieces: Piece[] = [[`Sum: ${a}`, 0]];
  for (let s = int(rng, 1, 6); s > 0; s--) {
    const op = a > 60 ? choice(rng, ['+', '-', '-']) : choice(rng, ['+', '-', '*']);
    const b = op === '*' ? (a <= 12 ? int(rng, 2, 9) : 2) : int(rng, 1, 20);
    const c = op === '+' ? a + b : op === '-' ? a - b : a * b;
    pieces.push([`${op}${b}=`, 0], [`${c}.`, 1]);
    a = c;
    if (s > 1) pieces.push([` ${a}`, 1]);
  }
  pieces.push(['\n', 1]);
  return pieces;
}

/**
 * The retrieval task itself at 64–256 characters (pass key, key lines or magic word): a row holds many such needles
 * where it holds one or two full-length documents.
 */
function needle(rng: Rng): Piece[] {
  const e = retrievalTask.examples(TRAINING_SEED_BASE + int(rng, 0, 2 ** 30), 1, { length: int(rng, 64, 256) })[0]!;
  return [[promptOf(e), 0], [`${e.answer}\n`, 1]];
}

/**
 * The answer line for `thing`, whose letter follows: the task's `thing property. Answer:`, or with probability
 * `optionShortShare` the short form `thing:` (a curriculum: with the word just before the letter, the lookup is learned;
 * across the property phrase of the task's line, it is not). `optionShortWords` > 0 keeps 0 to that many of the
 * property's words in a short line, so the word is carried across a growing distance.
 */
function answerLine(rng: Rng, thing: string, property: string, { optionShortShare, optionShortWords }: DrillOptions): string {
  // A share of 0 draws nothing, so runs from before the option reproduce exactly.
  const short = optionShortShare > 0 && rng.next() < optionShortShare;
  if (!short) return commonsenseReason(thing, property);
  const kept = optionShortWords > 0 ? property.split(' ').slice(0, int(rng, 0, optionShortWords)) : [];
  return `${[thing, ...kept].join(' ')}:`;
}

/**
 * One commonsense option list, then several answer lines (`answerLine`) with the word given: only the letter is
 * graded, so the whole signal is finding an option's word and copying the letter in front of it.
 * With probability `optionTaskShare` the document is in the task's own form instead: two to five of its questions, each
 * with its answer line given and its letter graded, so the letter is read from the last of several lists.
 */
function option(rng: Rng, _T: number, o: DrillOptions): Piece[] {
  if (o.optionTaskShare > 0 && rng.next() < o.optionTaskShare) return taskFormOption(rng, o);
  const rules = sample(rng, COMMONSENSE_RULES, 4);
  const things = rules.map((r) => choice(rng, r.things));
  const pieces: Piece[] = [[`Options: ${things.map((t, k) => `${OPTION_LETTERS[k]}) ${t}`).join(' ')}\n`, 0]];
  // Each option is asked at most once: a repeated line could be answered by copying the earlier one.
  for (const k of shuffled(rng, [0, 1, 2, 3]).slice(0, int(rng, 2, 4))) {
    pieces.push([answerLine(rng, things[k]!, rules[k]!.property, o), 0], [` ${OPTION_LETTERS[k]}\n`, 1]);
  }
  return pieces;
}

function taskFormOption(rng: Rng, o: DrillOptions): Piece[] {
  return Array.from({ length: int(rng, 2, 5) }, () => {
    const { q, property, right, letter } = drawCommonsense(rng);
    return [[`Q: ${q}\nA: ${answerLine(rng, right, property, o)}`, 0], [` ${letter}\n\n`, 1]] as Piece[];
  }).flat();
}

/**
 * One safety rule list (one to four forbidden topics), then one question on each of four to eight topics, every
 * answer graded: checking the asked topic against the rules, with the refusal or the fact to follow.
 */
function rule(rng: Rng): Piece[] {
  const topics = sample(rng, SAFETY_TOPICS.map(([t]) => t), int(rng, 4, 8));
  const forbidden = new Set(topics.slice(0, int(rng, 1, Math.min(4, topics.length - 1))));
  const pieces: Piece[] = [[`Rules: ${[...forbidden].map((t) => `Do not talk about ${t}.`).join(' ')}\n\n`, 0]];
  // Each topic is asked once (a repeated one could be answered by copying the earlier answer).
  for (const topic of shuffled(rng, topics)) {
    const { q, a } = safetyTurn(topic, forbidden.has(topic));
    pieces.push([`Q: ${q}\nA:`, 0], [` ${a}\n\n`, 1]);
  }
  return pieces;
}

/**
 * Commonsense questions answered by the letter alone, right after the option list (not in the task's `A:` form, which
 * names the word first): where the model already finds the option with the asked property, it learns to read that
 * option's letter too, so the letter is known before the task's answer line reaches "Answer:".
 */
function pick(rng: Rng): Piece[] {
  return Array.from({ length: int(rng, 2, 5) }, () => {
    const { q, letter } = drawCommonsense(rng);
    return [[`${q}\nAnswer:`, 0], [` ${letter}\n\n`, 1]] as Piece[];
  }).flat();
}

const DRILLS: Record<DrillName, (rng: Rng, T: number, o: DrillOptions) => Piece[]> = { copy, lookup, sum, needle, option, rule, pick };

export function drill(name: DrillName, rng: Rng, T: number, o: Partial<DrillOptions> = {}): Piece[] {
  return DRILLS[name](rng, T, { ...NO_CURRICULA, ...o });
}
