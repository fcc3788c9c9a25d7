import { exampleRng } from '../../src/eval/tasks/pick.js';
import { syntheticSuite } from '../../src/eval/tasks/registry.js';
import { promptOf, TRAINING_SEED_BASE, type Segment, type Task } from '../../src/eval/tasks/task.js';
import { BOS, encodeChars, EOS } from './char-vocab.js';
import { drill, DRILL_NAMES, shareKey, type DrillName, type DrillOptions, type DrillShares, type Piece } from './drills.js';
import type { AttentionBlock, Batch } from './tf-model.js';

/** Relative share of documents per task (arithmetic and code need the most practice). */
const MIX: Readonly<Record<string, number>> = { knowledge: 1, commonsense: 1, arithmetic: 1.6, code: 1.6, safety: 1, retrieval: 0.8, 'long-generation': 0.8 };

/** The task weights of a `--mix` spec (`code=3,safety=2`): the default MIX with the listed tasks reweighted. */
export function taskMix(spec: string): Record<string, number> {
  const mix = { ...MIX };
  for (const part of spec.split(',').filter((p) => p.trim() !== '')) {
    const [name, value, extra] = part.split('=').map((x) => x.trim());
    const w = Number(value);
    if (extra !== undefined || !name || !(name in MIX) || value === undefined || value === '' || !Number.isFinite(w) || w < 0)
      throw new Error(`--mix: expected task=weight with a task among ${Object.keys(MIX).join(', ')} and a non-negative weight, got "${part}"`);
    mix[name] = w;
  }
  if (Object.values(mix).every((w) => w === 0)) throw new Error('--mix: at least one task must weigh more than 0');
  return mix;
}
/** Loss weight of prompt characters; answers weigh 1 (the prompt still teaches the fact base and the forms). */
const PROMPT_WEIGHT = 0.3;
const MAX_DOCS_PER_ROW = 64;
/** Consecutive documents share one attention block up to this many positions (a longer document is a block alone). */
const BLOCK = 256;

/** How the mix is drawn: the weight of each drill beside the task weights (an absent drill weighs 0). */
export interface DataOptions extends Partial<DrillShares>, Partial<DrillOptions> {
  /** Loss weight of the worked answers in a few-shot prompt (default PROMPT_WEIGHT, like the rest of the prompt). */
  shotAnswerWeight?: number;
  /** Task reweighting, a `taskMix` spec ('' or absent = the default MIX). */
  mix?: string;
}

export interface TrainingBatch extends Batch {
  targets: Int32Array;
  weights: Float32Array;
}

/**
 * One training document: <s> prompt answer "\n" </s>. Its random draw uses seed ≥ TRAINING_SEED_BASE
 * (evaluation seeds are below it), a pure function of (runSeed, step, row, k), so a resumed run sees the same data.
 * Curriculum: long-context documents grow from 256 characters to the full row over the first 40% of training.
 */
export function trainingDocument(runSeed: number, step: number, row: number, k: number, progress: number, T: number, data: DataOptions): { ids: number[]; weights: number[] } {
  const rng = exampleRng('train-mix', runSeed * 1_000_003 + step, row * MAX_DOCS_PER_ROW + k);
  const mix = data.mix ? taskMix(data.mix) : MIX;
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  const share = (name: DrillName) => data[shareKey(name)] ?? 0;
  let r = rng.next() * DRILL_NAMES.reduce((a, name) => a + share(name), total);
  if (r >= total) {
    r -= total;
    const name = DRILL_NAMES.find((n) => (r -= share(n)) < 0) ?? [...DRILL_NAMES].reverse().find((n) => share(n) > 0)!;
    return document(drill(name, rng, T, data));
  }
  const task: Task = syntheticSuite.find((t) => (r -= mix[t.name] ?? 1) < 0) ?? [...syntheticSuite].reverse().find((t) => (mix[t.name] ?? 1) > 0)!;
  const shots = task.shotCounts[Math.floor(rng.next() * task.shotCounts.length)]!;
  const maxLength = Math.max(256, Math.min(T - 48, Math.round(256 + ((T - 304) * progress) / 0.4)));
  const length = 128 + Math.floor(rng.next() * (maxLength - 127));
  const seed = TRAINING_SEED_BASE + Math.floor(rng.next() * 2 ** 30);
  let example = task.examples(seed, 1, { shots, length })[0]!;
  // Few-shot prompts that would not fit a row fall back to fewer shots.
  for (let s = shots; promptOf(example).length + example.answer.length + 3 > T + 1 && s > 0; ) {
    s = task.shotCounts.filter((x) => x < s).at(-1) ?? 0;
    example = task.examples(seed, 1, { shots: s, length })[0]!;
  }
  return document([...example.segments.flatMap((seg) => promptPieces(seg, data.shotAnswerWeight ?? PROMPT_WEIGHT)), [example.answer + '\n', 1]]);
}

/** A prompt segment's pieces: a worked shot's answer (after its "A:") weighs `shotAnswerWeight`, everything else PROMPT_WEIGHT. */
function promptPieces(segment: Segment, shotAnswerWeight: number): Piece[] {
  const at = segment.kind === 'shot' ? segment.text.indexOf('\nA:') : -1;
  if (at < 0) return [[segment.text, PROMPT_WEIGHT]];
  return [[segment.text.slice(0, at + 3), PROMPT_WEIGHT], [segment.text.slice(at + 3), shotAnswerWeight]];
}

/** <s> pieces </s>; a character's weight is its piece's (BOS is never predicted, EOS weighs 1). */
function document(pieces: Piece[]): { ids: number[]; weights: number[] } {
  const ids = [BOS];
  const weights = [0];
  for (const [text, weight] of pieces)
    for (const id of encodeChars(text)) {
      ids.push(id);
      weights.push(weight);
    }
  return { ids: [...ids, EOS], weights: [...weights, 1] };
}

/** Attention blocks tiling a row: consecutive documents grouped up to BLOCK positions, each block-causal; the padding tail sees only itself. */
function attentionBlocks(docOf: Int32Array): AttentionBlock[] {
  const T = docOf.length;
  const blocks: AttentionBlock[] = [];
  for (let start = 0; start < T; ) {
    let end = start + 1;
    while (end < T && docOf[end] === docOf[end - 1]) end++;
    // Extend over whole following documents while the block stays within BLOCK (padding is never grouped).
    while (docOf[start] !== -1 && end < T && docOf[end] !== -1) {
      let next = end + 1;
      while (next < T && docOf[next] === docOf[end]) next++;
      if (next - start > BLOCK) break;
      end = next;
    }
    const n = end - start;
    const mask = new Float32Array(n * n).fill(-1e9);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) if (docOf[start + i] === docOf[start + j] && (docOf[start + i] !== -1 || i === j)) mask[i * n + j] = 0;
    blocks.push({ start, length: n, mask });
    start = end;
  }
  return blocks;
}

/** B rows of T tokens packed with whole documents (the rest is padding of weight 0); each document attends only to itself (block-causal masks). */
export function trainingBatch(runSeed: number, step: number, B: number, T: number, progress: number, data: DataOptions): TrainingBatch {
  const ids = new Int32Array(B * T).fill(EOS);
  const targets = new Int32Array(B * T).fill(EOS);
  const weights = new Float32Array(B * T);
  const blocks: AttentionBlock[][] = [];
  for (let b = 0; b < B; b++) {
    const docOf = new Int32Array(T).fill(-1);
    let at = 0;
    for (let k = 0; k < MAX_DOCS_PER_ROW && at < T - 16; k++) {
      const doc = trainingDocument(runSeed, step, b, k, progress, T, data);
      const n = Math.min(doc.ids.length, T + 1);
      // A document that does not fit is skipped; a later, shorter one may fill the gap.
      if (at + n - 1 > T) continue;
      for (let i = 0; i < n - 1; i++) {
        ids[b * T + at + i] = doc.ids[i]!;
        targets[b * T + at + i] = doc.ids[i + 1]!;
        weights[b * T + at + i] = doc.weights[i + 1]!;
        docOf[at + i] = k;
      }
      at += n - 1;
    }
    blocks.push(attentionBlocks(docOf));
  }
  return { ids, targets, weights, blocks, B, T };
}
