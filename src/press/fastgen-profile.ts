import type { LayerView } from './layer-view.js';
import { maskIndices, selectKeep } from './select-keep.js';
import { PUNCT_TOKEN, SPECIAL_TOKEN } from './token-class.js';
import { lastRowsAttention } from './last-rows-attention.js';

/** FastGen's candidate policies in order of increasing memory (methods.md §12). */
export const FASTGEN_POLICIES = ['special', 'special+punct', 'special+punct+frequent', 'special+punct+frequent+local', 'full'] as const;
export type FastGenPolicy = (typeof FASTGEN_POLICIES)[number];

export interface FastGenRates {
  /** Recovery threshold τ: the cheapest policy keeping at least this much of the head's attention wins. */
  threshold: number;
  /** r_l: the local window as a fraction of the sequence length. */
  local: number;
  /** r_f: the heavy-hitter count as a fraction of the sequence length. */
  frequent: number;
}

export interface HeadProfile {
  policy: FastGenPolicy;
  /** Recovery of each candidate, in FASTGEN_POLICIES order. */
  recovery: number[];
  /** Indices of the head's entries the policy keeps for the next query. */
  keep: Int32Array;
}

const ROW_BLOCK = 32;

/**
 * Profiles one KV head over the prompt's query rows (group-mean attention, streamed ROW_BLOCK rows
 * at a time, never T × T): rec(C) = (1/rows) Σ_i Σ_{j ∈ keep_C(i)} a[i, j]. Special/punct/heavy
 * recoveries are column sums; the local window (row-dependent) needs the attention each entry gets
 * from rows whose window holds it. Heavy hitters are chosen by column sums normalised by the rows
 * that can see the entry, among entries the policy's other parts do not already keep.
 * `entryClass` holds SPECIAL_TOKEN/PUNCT_TOKEN bits per entry of the head.
 */
export function profileHead(view: LayerView, h: number, entryClass: Uint8Array, rates: FastGenRates): HeadProfile {
  const T = view.length(h);
  const pos = view.positions(h);
  const { queries, n, startPos } = view.processed;
  const wl = Math.max(1, Math.floor(rates.local * T));
  const nf = Math.floor(rates.frequent * T);
  const col = new Float64Array(T);
  const local = new Float64Array(T);
  const head = { headDim: view.headDim, length: T, keys: view.keys(h), positions: pos };
  for (let r0 = 0; r0 < n; r0 += ROW_BLOCK) {
    const rows = Math.min(ROW_BLOCK, n - r0);
    const a = lastRowsAttention(queries, r0 + rows, startPos, view.config.nHeads, h, view.groupSize, head, rows, view.config.slidingWindow);
    for (let r = 0; r < rows; r++) {
      const p = startPos + r0 + r;
      for (let j = 0; j < T; j++) {
        const w = a[r * T + j]!;
        col[j] += w;
        if (pos[j]! > p - wl) local[j] += w;
      }
    }
  }
  const next = startPos + n;
  const special = Uint8Array.from(entryClass, (c) => c & SPECIAL_TOKEN);
  const marked = Uint8Array.from(entryClass, (c) => (c & (SPECIAL_TOKEN | PUNCT_TOKEN) ? 1 : 0));
  const window = Uint8Array.from(pos, (p) => (p > next - wl ? 1 : 0));
  const seenBy = (j: number) => next - Math.max(pos[j]!, startPos);
  const heavy = (excluded: (j: number) => boolean) => {
    const cand = Array.from({ length: T }, (_, j) => j).filter((j) => !excluded(j));
    const picked = selectKeep(cand.map((j) => col[j]! / seenBy(j)), Math.min(nf, cand.length));
    return mark(T, [...picked].map((i) => cand[i]!));
  };
  const heavy1 = nf > 0 ? heavy((j) => marked[j] === 1) : new Uint8Array(T);
  const heavy2 = nf > 0 ? heavy((j) => marked[j] === 1 || window[j] === 1) : new Uint8Array(T);
  let recS = 0;
  let recSP = 0;
  let recH1 = 0;
  let recLocalH2 = 0;
  for (let j = 0; j < T; j++) {
    if (special[j]) recS += col[j]!;
    if (marked[j]) recSP += col[j]!;
    else recLocalH2 += local[j]! + (heavy2[j] ? col[j]! - local[j]! : 0);
    if (heavy1[j]) recH1 += col[j]!;
  }
  const recovery = [recS / n, recSP / n, (recSP + recH1) / n, (recSP + recLocalH2) / n, 1];
  const keeps = [special, marked, or(marked, heavy1), or(or(marked, heavy2), window), new Uint8Array(T).fill(1)];
  // The cheapest policy that recovers τ and keeps something (full always qualifies).
  const i = recovery.findIndex((rec, k) => rec >= rates.threshold - 1e-9 && keeps[k]!.includes(1));
  return { policy: FASTGEN_POLICIES[i]!, recovery, keep: maskIndices(keeps[i]!) };
}

function mark(T: number, idx: number[]): Uint8Array {
  const m = new Uint8Array(T);
  for (const j of idx) m[j] = 1;
  return m;
}

function or(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, j) => v | b[j]!);
}

