/** The per-head attention statistics of the ShotKV study, averaged over the captured query rows. */
export interface HeadStats {
  /** Mean Shannon entropy of a row's attention distribution, in nats. */
  entropy: number;
  /** Mean share of a row's mass on its top 10 % visible keys (at least one key): 1 = all on few keys. */
  top10: number;
  /** Mean mass a row puts on each segment's positions [start, end), in the order given. */
  segmentMass: number[];
}

/** Share of keys whose mass counts as the "top" for the sparsity statistic. */
export const TOP_SHARE = 0.1;

/** Accumulates HeadStats row by row, so the statistics are exact even when the stored map is pooled. */
export class HeadStatsAccumulator {
  private rows = 0;
  private entropy = 0;
  private top10 = 0;
  private readonly mass: number[];
  private sorted = new Float64Array(0);

  constructor(private readonly ranges: readonly { start: number; end: number }[]) {
    this.mass = ranges.map(() => 0);
  }

  /** Adds one query row: `w[j]` is the weight on key position `keyPos[j]`, for the `n` visible keys. */
  add(w: ArrayLike<number>, keyPos: ArrayLike<number>, n: number): void {
    let h = 0;
    for (let j = 0; j < n; j++) {
      const p = w[j]!;
      if (p > 0) h -= p * Math.log(p);
    }
    if (this.sorted.length < n) this.sorted = new Float64Array(n);
    const s = this.sorted.subarray(0, n);
    for (let j = 0; j < n; j++) s[j] = w[j]!;
    s.sort();
    const k = Math.max(1, Math.ceil(TOP_SHARE * n));
    let top = 0;
    for (let j = n - k; j < n; j++) top += s[j]!;
    for (let r = 0; r < this.ranges.length; r++) {
      const { start, end } = this.ranges[r]!;
      let m = 0;
      for (let j = 0; j < n; j++) {
        const p = keyPos[j]!;
        if (p >= start && p < end) m += w[j]!;
      }
      this.mass[r]! += m;
    }
    this.entropy += h;
    this.top10 += top;
    this.rows++;
  }

  result(): HeadStats {
    const r = Math.max(1, this.rows);
    return { entropy: this.entropy / r, top10: this.top10 / r, segmentMass: this.mass.map((m) => m / r) };
  }
}
