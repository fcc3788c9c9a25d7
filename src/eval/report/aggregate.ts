import type { ResultRecord, Setting } from '../result.js';

/** Mean of a metric over the records of one (setting, ability, press, ratio, shots) cell. */
export interface Cell {
  setting: Setting;
  ability: string;
  press: string;
  ratio: number;
  shots: number;
  n: number;
  score: number;
  kl: number;
  top1: number;
  kvBytes: number;
  kvBytesFull: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Groups records into cells. Ratio-0 records are the full cache whatever the press, so they form one cell under press "full". */
export function aggregate(records: readonly ResultRecord[]): Cell[] {
  const groups = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const press = r.ratio === 0 ? 'full' : r.press;
    const key = JSON.stringify([r.setting, r.ability, press, r.ratio, r.shots]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups.entries()].map(([key, rs]) => {
    const [setting, ability, press, ratio, shots] = JSON.parse(key) as [Setting, string, string, number, number];
    return {
      setting,
      ability,
      press,
      ratio,
      shots,
      n: rs.length,
      score: mean(rs.map((r) => r.score)),
      kl: mean(rs.map((r) => r.kl)),
      top1: mean(rs.map((r) => r.top1)),
      kvBytes: mean(rs.map((r) => r.kv_bytes)),
      kvBytesFull: mean(rs.map((r) => r.kv_bytes_full)),
    };
  });
}

/** Cells pooled over shots: one value per (setting, ability, press, ratio). */
export function poolShots(cells: readonly Cell[]): Cell[] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const key = JSON.stringify([c.setting, c.ability, c.press, c.ratio]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(c);
  }
  return [...groups.values()].map((cs) => {
    const n = cs.reduce((a, c) => a + c.n, 0);
    const w = (f: (c: Cell) => number) => cs.reduce((a, c) => a + f(c) * c.n, 0) / n;
    return { ...cs[0]!, shots: -1, n, score: w((c) => c.score), kl: w((c) => c.kl), top1: w((c) => c.top1), kvBytes: w((c) => c.kvBytes), kvBytesFull: w((c) => c.kvBytesFull) };
  });
}

export const kvKeptPercent = (ratio: number) => Math.round((1 - ratio) * 1000) / 10;
export const uniqueSorted = <T>(xs: Iterable<T>, cmp?: (a: T, b: T) => number) => [...new Set(xs)].sort(cmp);
