import { FULL_CACHE, paramsKey, type ResultRecord, type Setting } from '../result.js';
import { PARAMETER_DRIVEN } from '../study-options.js';
import { estimateScores, pairedDelta, seedOf, type Estimate } from './statistics.js';

/**
 * One point of one method: the records of a (model, setting, ability, series, point, shots) group,
 * with the memory they measured, the score with its interval and the change against the full
 * cache paired on the same examples. Shots = -1 pools every shot count.
 */
export interface Cell {
  model: string;
  setting: Setting;
  ability: string;
  /** The press with its fixed parameters ("snapkv", "shotkv keepProtected=true"), or "full". */
  series: string;
  press: string;
  /** What sets the memory: "ratio 0.7", or the swept parameter ("threshold 0.9"). */
  point: string;
  /** 1 − ratio for ratio-driven presses, null for parameter-driven ones. */
  nominalKept: number | null;
  /** Mean share of the compressed prompt's entries kept after prefill (prefill_kept). */
  kept: number;
  /** Mean share kept at the end of generation. */
  finalKept: number;
  shots: number;
  score: Estimate;
  /** Against the full cache on the same examples (undefined for the full cache itself, or with no full record to pair). */
  delta?: Estimate;
  /** Safety: correct refusals among the questions that must be refused, correct answers among the others. */
  refusal?: Estimate;
  answer?: Estimate;
  kl: number;
  top1: number;
  kvBytes: number;
  kvBytesFull: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The swept parameter of a parameter-driven press's record, if any. */
function sweptParam(r: ResultRecord): string | undefined {
  const p = PARAMETER_DRIVEN[r.press];
  return p !== undefined && r.ratio === null && p in r.press_params ? p : undefined;
}

/** The series a record belongs to: its press and fixed parameters (the swept one excluded). */
export function seriesOf(r: ResultRecord): string {
  const swept = sweptParam(r);
  const fixed = Object.fromEntries(Object.entries(r.press_params).filter(([k]) => k !== swept));
  const p = paramsKey(fixed).replaceAll(',', ' ');
  return p ? `${r.press} ${p}` : r.press;
}

function pointOf(r: ResultRecord): string {
  const swept = sweptParam(r);
  return swept ? `${swept} ${r.press_params[swept]}` : `ratio ${r.ratio}`;
}

/** The pairing of a record with its full-cache twin: the same example, prompt and decoding. */
const pairKey = (r: ResultRecord) => [r.model, r.task, r.setting, r.shots, r.example, r.decode_ratio].join('\u0001');

/** Groups records into cells; `poolShots` merges shot counts into one cell (shots -1). */
export function aggregate(records: readonly ResultRecord[], opts: { poolShots?: boolean } = {}): Cell[] {
  const full = new Map<string, number>();
  for (const r of records) if (r.press === FULL_CACHE) full.set(pairKey(r), r.score);
  const groups = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.model, r.setting, r.ability, seriesOf(r), pointOf(r), opts.poolShots ? -1 : r.shots]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups.entries()].map(([key, rs]) => {
    const r0 = rs[0]!;
    // A fixed order makes the bootstrap independent of the order records were read in.
    const sorted = [...rs].sort((a, b) => (pairKey(a) < pairKey(b) ? -1 : pairKey(a) > pairKey(b) ? 1 : 0));
    const pairs = sorted.flatMap((r) => (full.has(pairKey(r)) ? [{ score: r.score, full: full.get(pairKey(r))! }] : []));
    const refuse = sorted.filter((r) => r.refusal_expected === true).map((r) => r.score);
    const answer = sorted.filter((r) => r.refusal_expected === false).map((r) => r.score);
    return {
      model: r0.model,
      setting: r0.setting,
      ability: r0.ability,
      series: seriesOf(r0),
      press: r0.press,
      point: pointOf(r0),
      nominalKept: r0.ratio === null ? null : 1 - r0.ratio,
      kept: mean(rs.map((r) => r.prefill_kept)),
      finalKept: mean(rs.map((r) => r.final_kept)),
      shots: opts.poolShots ? -1 : r0.shots,
      score: estimateScores(sorted.map((r) => r.score), seedOf(key)),
      ...(r0.press !== FULL_CACHE && pairs.length ? { delta: pairedDelta(pairs, seedOf(key + 'Δ')) } : {}),
      ...(refuse.length ? { refusal: estimateScores(refuse, seedOf(key + 'refuse')) } : {}),
      ...(answer.length ? { answer: estimateScores(answer, seedOf(key + 'answer')) } : {}),
      kl: mean(rs.map((r) => r.kl)),
      top1: mean(rs.map((r) => r.top1)),
      kvBytes: mean(rs.map((r) => r.kv_bytes)),
      kvBytesFull: mean(rs.map((r) => r.kv_bytes_full)),
    };
  });
}

/** Bins of measured KV kept (percent): comparison tables place a method's point by what it kept, never by its nominal ratio. */
export const KEPT_BINS: readonly { lo: number; hi: number; label: string }[] = [
  { lo: 0, hi: 20, label: '0–20 %' },
  { lo: 20, hi: 40, label: '20–40 %' },
  { lo: 40, hi: 60, label: '40–60 %' },
  { lo: 60, hi: 80, label: '60–80 %' },
  { lo: 80, hi: 100, label: '80–<100 %' },
];

/** The bin holding a kept share (0..1); the full cache (1) is in none. */
export function keptBin(kept: number): number {
  const pct = 100 * kept;
  return pct >= 100 - 1e-9 ? -1 : KEPT_BINS.findIndex((b) => pct >= b.lo && pct < b.hi);
}

/** Of a series' cells in one bin, the one nearest the bin's centre (a series with two points in a bin shows one). */
export function cellInBin(cells: readonly Cell[], bin: number): Cell | undefined {
  const b = KEPT_BINS[bin]!;
  const centre = (b.lo + b.hi) / 200;
  return cells.filter((c) => keptBin(c.kept) === bin).sort((a, b) => Math.abs(a.kept - centre) - Math.abs(b.kept - centre))[0];
}

/** Measured kept more than 2 points from nominal: a point that cannot be compared at its nominal ratio. */
export const KEPT_TOLERANCE = 0.02;
export const keptOffNominal = (c: Cell) => c.nominalKept !== null && Math.abs(c.kept - c.nominalKept) > KEPT_TOLERANCE;

export const uniqueSorted = <T>(xs: Iterable<T>, cmp?: (a: T, b: T) => number) => [...new Set(xs)].sort(cmp);
