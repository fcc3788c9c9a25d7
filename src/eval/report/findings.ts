import { FULL_CACHE, type ResultRecord, type Setting } from '../result.js';
import { KEPT_BINS, keptBin, uniqueSorted } from './aggregate.js';
import { bootstrapMean, pairedDelta, seedOf, type Estimate } from './statistics.js';

export type Verdict = 'holds' | 'does not hold' | 'not measurable here';

/** One compared quantity of a finding: a label and its estimate (a Δ or a statistic, as a share). */
export interface FindingValue {
  label: string;
  est: Estimate;
}

/** One of the paper's findings checked against this study's data, in one setting. */
export interface Finding {
  id: string;
  title: string;
  /** The paper's claim, in words. */
  claim: string;
  setting: Setting;
  verdict: Verdict;
  /** Why: the numbers the verdict rests on, with their intervals. */
  why: string;
  values: FindingValue[];
  /** The values' unit: points of score change, or a share (attention mass). */
  unit: 'Δ points' | '%';
}

/** The random press is the study's control, not a method the findings compare. */
const CONTROLS = new Set(['random', 'random-shot', FULL_CACHE]);

const pct = (x: number) => (100 * x).toFixed(1);
export const formatEstimate = (e: Estimate, signed = false) => `${signed && e.mean >= 0 ? '+' : ''}${pct(e.mean)} [${pct(e.lo)}, ${pct(e.hi)}] (n = ${e.n})`;
/** a is measurably below b: their 95 % intervals do not overlap. */
const below = (a: Estimate, b: Estimate) => a.hi < b.lo;

const pairKey = (r: ResultRecord) => [r.model, r.task, r.setting, r.shots, r.example, r.decode_ratio].join('\u0001');

/**
 * The paper's findings (arXiv 2502.01941), each a verdict computed from the records of one setting.
 * Comparisons are at matched memory: the most aggressive bin of measured KV kept that the finding's
 * subject and at least one rival reach (rivals absent from that bin are left out; both shot counts for finding 2). "Holds" needs the 95 % intervals to separate; overlapping intervals are "not measurable here".
 */
export function findings(records: readonly ResultRecord[]): Finding[] {
  const out: Finding[] = [];
  for (const setting of uniqueSorted(records.map((r) => r.setting))) {
    const rs = records.filter((r) => r.setting === setting);
    const full = new Map(rs.filter((r) => r.press === FULL_CACHE).map((r) => [pairKey(r), r.score]));
    const delta = (group: ResultRecord[], key: string): Estimate =>
      pairedDelta(group.flatMap((r) => (full.has(pairKey(r)) ? [{ score: r.score, full: full.get(pairKey(r))! }] : [])).sort((a, b) => a.score - b.score || a.full - b.full), seedOf(key));
    const compressed = rs.filter((r) => !CONTROLS.has(r.press) && full.has(pairKey(r)));
    /** The lowest kept bin where every group has records, or -1. */
    const commonBin = (groups: ResultRecord[][]) => {
      for (let b = 0; b < KEPT_BINS.length; b++) if (groups.every((g) => g.some((r) => keptBin(r.prefill_kept) === b))) return b;
      return -1;
    };
    /** The lowest kept bin where `focus` and at least one other group have records (the others compared there), or -1. */
    const focusBin = (focus: ResultRecord[], others: ResultRecord[][]) => {
      for (let b = 0; b < KEPT_BINS.length; b++) if (focus.some((r) => keptBin(r.prefill_kept) === b) && others.some((g) => g.some((r) => keptBin(r.prefill_kept) === b))) return b;
      return -1;
    };
    const inBin = (g: ResultRecord[], b: number) => g.filter((r) => keptBin(r.prefill_kept) === b);
    const binLabel = (b: number) => `KV kept ${KEPT_BINS[b]!.label}`;
    const abilities = uniqueSorted(compressed.map((r) => r.ability));
    const push = (f: Omit<Finding, 'setting'>) => out.push({ ...f, setting });

    // 1. Arithmetic is the most sensitive ability.
    {
      const groups = abilities.map((a) => compressed.filter((r) => r.ability === a));
      const b = focusBin(compressed.filter((r) => r.ability === 'arithmetic'), groups.filter((_, i) => abilities[i] !== 'arithmetic'));
      const base = { id: 'arithmetic-sensitive', title: 'Arithmetic is the most sensitive ability', claim: 'Under KV compression, arithmetic reasoning degrades most of the abilities.', unit: 'Δ points' as const };
      if (!abilities.includes('arithmetic') || abilities.length < 2 || b < 0) push({ ...base, verdict: 'not measurable here', why: 'needs arithmetic and another ability compressed to a common KV-kept bin', values: [] });
      else {
        const values = abilities.flatMap((a, i) => (inBin(groups[i]!, b).length ? [{ label: a, est: delta(inBin(groups[i]!, b), `${setting} f1 ${a}`) }] : []));
        const arith = values.find((v) => v.label === 'arithmetic')!;
        const others = values.filter((v) => v !== arith);
        const worstOther = others.reduce((w, v) => (v.est.mean < w.est.mean ? v : w));
        const verdict: Verdict = others.every((v) => below(arith.est, v.est)) ? 'holds' : below(worstOther.est, arith.est) ? 'does not hold' : 'not measurable here';
        const why = `At ${binLabel(b)} (presses pooled, random excluded), Δ arithmetic ${formatEstimate(arith.est, true)} vs the most affected other ability, ${worstOther.label}, ${formatEstimate(worstOther.est, true)}${verdict === 'not measurable here' ? ': the intervals overlap' : ''}.`;
        push({ ...base, verdict, why, values });
      }
    }

    // 2. Fewer shots are more fragile.
    {
      const shots = uniqueSorted(compressed.map((r) => r.shots), (a, b) => a - b).filter((s) => s > 0);
      const base = { id: 'few-shots-fragile', title: 'Few shots are more fragile', claim: 'Prompts with fewer shots lose more under compression than prompts with many.', unit: 'Δ points' as const };
      const few = compressed.filter((r) => r.shots === shots[0]);
      const many = compressed.filter((r) => r.shots === shots.at(-1));
      const b = commonBin([few, many]);
      if (shots.length < 2 || b < 0) push({ ...base, verdict: 'not measurable here', why: 'needs two shot counts above 0 compressed to a common KV-kept bin', values: [] });
      else {
        const v = [
          { label: `${shots[0]} shot${shots[0] === 1 ? '' : 's'}`, est: delta(inBin(few, b), `${setting} f2 few`) },
          { label: `${shots.at(-1)} shots`, est: delta(inBin(many, b), `${setting} f2 many`) },
        ];
        const verdict: Verdict = below(v[0]!.est, v[1]!.est) ? 'holds' : below(v[1]!.est, v[0]!.est) ? 'does not hold' : 'not measurable here';
        push({ ...base, verdict, values: v, why: `At ${binLabel(b)}, Δ with ${v[0]!.label} ${formatEstimate(v[0]!.est, true)} vs ${v[1]!.label} ${formatEstimate(v[1]!.est, true)}${verdict === 'not measurable here' ? ': the intervals overlap' : ''}.` });
      }
    }

    // 3 and 5: one press best on one ability, at matched memory.
    const pressBest = (id: string, title: string, claim: string, ability: string, winner: string, filter: (r: ResultRecord) => boolean) => {
      const pool = compressed.filter((r) => r.ability === ability && filter(r));
      const presses = uniqueSorted(pool.map((r) => r.press));
      const groups = presses.map((p) => pool.filter((r) => r.press === p));
      const b = focusBin(pool.filter((r) => r.press === winner), groups.filter((_, i) => presses[i] !== winner));
      const base = { id, title, claim, unit: 'Δ points' as const };
      if (!presses.includes(winner) || presses.length < 2 || b < 0) {
        push({ ...base, verdict: 'not measurable here', why: `needs ${winner} and another press on ${ability} at a common KV-kept bin`, values: [] });
        return;
      }
      const values = presses.flatMap((p, i) => (inBin(groups[i]!, b).length ? [{ label: p, est: delta(inBin(groups[i]!, b), `${setting} ${id} ${p}`) }] : []));
      const w = values.find((v) => v.label === winner)!;
      const rivals = values.filter((v) => v !== w);
      const bestRival = rivals.reduce((x, v) => (v.est.mean > x.est.mean ? v : x));
      const verdict: Verdict = rivals.every((v) => below(v.est, w.est)) ? 'holds' : below(w.est, bestRival.est) ? 'does not hold' : 'not measurable here';
      push({ ...base, verdict, values, why: `${ability} at ${binLabel(b)}: Δ ${winner} ${formatEstimate(w.est, true)} vs the best other press, ${bestRival.label}, ${formatEstimate(bestRival.est, true)}${verdict === 'not measurable here' ? ': the intervals overlap' : ''}.` });
    };
    const maxShots = Math.max(0, ...compressed.filter((r) => r.ability === 'arithmetic').map((r) => r.shots));
    pressBest('chunk-level-arithmetic', 'Chunk-level compression is best for long-context arithmetic', 'ChunkKV keeps arithmetic best among the presses on long (many-shot) prompts.', 'arithmetic', 'chunkkv', (r) => r.shots === maxShots);

    // 4. Long generation is sensitive.
    {
      const lg = compressed.filter((r) => r.ability === 'long-generation');
      const bins = uniqueSorted(lg.map((r) => keptBin(r.prefill_kept)), (a, b) => a - b).filter((b) => b >= 0);
      const base = { id: 'long-generation-sensitive', title: 'Long generation is sensitive', claim: 'Long outputs degrade under compression.', unit: 'Δ points' as const };
      if (!bins.length) push({ ...base, verdict: 'not measurable here', why: 'no compressed long-generation records', values: [] });
      else {
        const b = bins[0]!;
        const est = delta(inBin(lg, b), `${setting} f4`);
        const verdict: Verdict = est.hi < 0 ? 'holds' : est.lo > -0.05 ? 'does not hold' : 'not measurable here';
        push({ ...base, verdict, values: [{ label: 'long-generation', est }], why: `At ${binLabel(b)}, Δ long generation ${formatEstimate(est, true)}${verdict === 'holds' ? ' (the interval excludes 0)' : verdict === 'does not hold' ? ' (no drop beyond 5 points within the interval)' : ' (the interval includes 0 and drops beyond 5 points)'}.` });
      }
    }

    pressBest('shotkv-long-generation', "ShotKV's gain on long generation", 'ShotKV (shot-level prefill, separate decoding compression) beats token-level presses on long generation.', 'long-generation', 'shotkv', () => true);

    // 6. Attention sparsity by task; system-prompt attention in safety (measured on the whole prompt: question-aware only).
    if (setting === 'question-aware') {
      const withAttn = rs.filter((r) => r.attention && r.press === FULL_CACHE);
      const base = { id: 'attention', title: 'Attention sparsity differs by task; safety attends to its system prompt', claim: "Tasks differ in how concentrated the question's attention is (top-10 % mass); in safety the question attends to the system prompt's rules.", unit: '%' as const };
      const tasks = uniqueSorted(withAttn.map((r) => r.task));
      const safety = withAttn.filter((r) => r.ability === 'safety');
      if (tasks.length < 2 || !safety.length) push({ ...base, verdict: 'not measurable here', why: 'needs full-cache question-aware records of two tasks, safety among them', values: [] });
      else {
        const est = (xs: number[], key: string): Estimate => ({ n: xs.length, mean: xs.reduce((a, b) => a + b, 0) / xs.length, ...bootstrapMean(xs, seedOf(key)), method: 'bootstrap' });
        const top = tasks.map((t) => ({ label: `${t}: top-10 % mass`, est: est(withAttn.filter((r) => r.task === t).map((r) => r.attention!.top10), `${setting} f6 ${t}`) }));
        const sorted = [...top].sort((a, b) => a.est.mean - b.est.mean);
        const sys = { label: 'safety: mass on the system prompt', est: est(safety.map((r) => r.attention!.system), `${setting} f6 sys`) };
        const share = { label: "safety: the system prompt's share of tokens", est: est(safety.map((r) => r.attention!.systemShare), `${setting} f6 share`) };
        const differ = below(sorted[0]!.est, sorted.at(-1)!.est);
        const sysAbove = below(share.est, sys.est);
        const verdict: Verdict = differ && sysAbove ? 'holds' : below(sys.est, share.est) ? 'does not hold' : 'not measurable here';
        push({ ...base, verdict, values: [...top, sys, share], why: `Top-10 % mass ranges from ${sorted[0]!.label.split(':')[0]} ${formatEstimate(sorted[0]!.est)} to ${sorted.at(-1)!.label.split(':')[0]} ${formatEstimate(sorted.at(-1)!.est)}${differ ? '' : ' (intervals overlap)'}; safety's question puts ${formatEstimate(sys.est)} of its attention on the system prompt, which holds ${formatEstimate(share.est)} of the tokens.` });
      }
    }
  }
  return out;
}
