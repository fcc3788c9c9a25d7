import { headKeepCounts, keepCount, keepsAll } from './budget.js';
import type { LayerView } from './layer-view.js';
import type { Budget, DecodingPhase, Keep, Press } from './press.js';
import { sameEntries } from './same-entries.js';
import type { SegmentRange } from './segment-range.js';
import { selectKeep } from './select-keep.js';
import { selectShots } from './shot-select.js';

/** One score per shot of this prefill (higher = keep); `shotOf[h][j]` is entry j's shot or −1. */
export type ShotScorer = (view: LayerView, shots: readonly SegmentRange[], shotOf: Int32Array[]) => ArrayLike<number>;

/** One score per entry of KV head h (higher = keep), ranking the protected entries when they alone exceed the budget. */
export type EntryScorer = (view: LayerView, h: number) => ArrayLike<number>;

export interface ShotPressOptions {
  /** Skip no shot: stop at the first shot that does not fit (the paper's strict reading of the greedy loop). */
  stopAtFirstMiss: boolean;
  /**
   * Keep the protected text (system, question, other) whole even when it alone exceeds the budget,
   * and leave a zero-shot prompt untouched: the paper's reading, whose memory can exceed the nominal
   * budget (methods.md §11). Off, the budget holds (§0.3).
   */
  keepProtected: boolean;
}

/**
 * The whole-shot prefill selection shared by ShotKV and Random-Shot (methods.md §11): entries
 * outside the shots (system, question, other text) are protected and count inside the budget
 * B = floor(r_p·T); shots are kept whole in score order while they fit, so a layer keeps at most B.
 * When the protected entries alone exceed B (or the prompt has no shot), no shot is kept and the B
 * best protected entries by `scoreEntries` are (scores summed over the layer's KV heads when they
 * hold the same entries, so every head keeps the same ones; BOS first) — unless `keepProtected`.
 * Every KV head of a layer keeps the same shots. The kept shots per layer of the last prefill are in `keptShots()`.
 */
export class ShotPress implements Press {
  readonly usesShots = true;
  private kept: number[][] = [];

  constructor(
    readonly name: string,
    private readonly scoreShots: ShotScorer,
    private readonly scoreEntries: EntryScorer,
    private readonly opts: ShotPressOptions,
    readonly decoding?: DecodingPhase,
  ) {}

  beginPrefill(): void {
    this.kept = [];
  }

  compress(view: LayerView, budget: Budget): Keep | null {
    const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
    if (keepsAll(view, headKeepCounts(view, budget))) return null;
    const shots = promptShots(view, this.name);
    const shotOf = heads.map((h) => shotMembership(view.positions(h), shots));
    const protectedCount = heads.map((h) => shotOf[h]!.reduce((n, s) => n + (s < 0 ? 1 : 0), 0));
    const overflow = heads.some((h) => protectedCount[h]! > keepCount(view.length(h), budget));
    if ((overflow || shots.length === 0) && !this.opts.keepProtected) {
      this.kept[view.layer] = [];
      return this.cutProtected(view, budget, shotOf);
    }
    if (shots.length === 0) return null;
    const scores = this.scoreShots(view, shots, shotOf);
    const keep = heads.map((h) => {
      const room = keepCount(view.length(h), budget) - protectedCount[h]!;
      const sizes = new Array<number>(shots.length).fill(0);
      for (const s of shotOf[h]!) if (s >= 0) sizes[s]++;
      const chosen = new Uint8Array(shots.length);
      for (const i of selectShots(scores, sizes, Math.max(0, room), this.opts.stopAtFirstMiss)) chosen[i] = 1;
      if (h === 0) this.kept[view.layer] = [...chosen.keys()].filter((i) => chosen[i]);
      const out: number[] = [];
      shotOf[h]!.forEach((s, j) => (s < 0 || chosen[s]) && out.push(j));
      return Int32Array.from(out);
    });
    return keep.every((k, h) => k.length === view.length(h)) ? null : keep;
  }

  /** Per layer of the last prefill, the indices (into this prefill's shot segments) of the kept shots. */
  keptShots(): readonly number[][] {
    return this.kept;
  }

  /** No shot, and the budget's best protected entries: BOS (the attention sink) first, then by score. */
  private cutProtected(view: LayerView, budget: Budget, shotOf: Int32Array[]): Keep {
    const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
    const perHead = heads.map((h) => this.scoreEntries(view, h));
    const shared = sameEntries(view) ? Float64Array.from(perHead[0]!, (_, j) => heads.reduce((a, h) => a + perHead[h]![j]!, 0)) : undefined;
    return heads.map((h) => {
      const T = view.length(h);
      const scores = Float64Array.from(shared ?? perHead[h]!, (v, j) => (shotOf[h]![j]! >= 0 ? NaN : v));
      const sink = Uint8Array.from(view.positions(h), (p) => (p === 0 ? 1 : 0));
      return selectKeep(scores, keepCount(T, budget), sink);
    });
  }
}

/**
 * The shot segments of the prompt being prefilled. A prompt without segments is a clear error (its
 * structure is unknown); one whose segments hold no shot (zero-shot) is all protected text.
 */
function promptShots(view: LayerView, name: string): SegmentRange[] {
  const start = view.processed.startPos;
  const end = start + view.processed.n;
  const mine = (view.segments ?? []).filter((s) => s.start >= start && s.end <= end);
  if (mine.length === 0) throw new RangeError(`${name}: the prompt has no segments (pass segments to prefill, or split plain text with a shot separator)`);
  return mine.filter((s) => s.kind === 'shot' && s.end > s.start);
}

/**
 * For each entry, the index of the shot holding its position, or −1. Position 0 (BOS, the attention
 * sink, which the session puts in the first segment) is never part of a shot, so it is never dropped
 * with one (and is kept first when the protected text is cut).
 */
function shotMembership(positions: Int32Array, shots: readonly SegmentRange[]): Int32Array {
  const out = new Int32Array(positions.length).fill(-1);
  positions.forEach((p, j) => {
    const i = p === 0 ? -1 : shots.findIndex((s) => p >= s.start && p < s.end);
    if (i >= 0) out[j] = i;
  });
  return out;
}
