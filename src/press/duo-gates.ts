import type { KVCache } from '../cache/kv-cache.js';
import { klDivergence } from '../kernels/kl-divergence.js';
import { nonNegativeInt, positiveInt } from './param-checks.js';
import type { PressModel } from './press-context.js';

/**
 * DuoAttention's head gates for one model (methods.md §19): per (layer, KV head), how much the
 * model's predictions suffer when that head becomes a streaming head; high = retrieval head.
 * Stored as a small JSON file beside the model (`kvtrim duo-profile`).
 */
export interface DuoGates {
  method: 'kl-when-streaming';
  /** The streaming window the gates were measured with. */
  sinks: number;
  recent: number;
  /** Calibration tokens the profile ran over. */
  tokens: number;
  /** gates[layer][kvHead] ≥ 0. */
  gates: number[][];
}

/**
 * Profiles every KV head on the calibration ids: the full model's next-token distributions are the
 * reference; then, one head at a time, the text is run token by token with that head cut back to
 * its first `sinks` and last `recent` entries after every step (what a streaming head keeps while
 * decoding), and the head's gate is the mean KL(full ‖ restricted) over the positions where the
 * cut can matter (from sinks + recent on). The paper learns gates by optimisation on GPUs; this is
 * the CPU-sized measurement of the same question (which heads need the whole context).
 */
export function profileDuoGates(model: PressModel, ids: readonly number[], o: { sinks: number; recent: number }): DuoGates {
  const { nLayers, nKvHeads } = model.config;
  const sinks = nonNegativeInt(o.sinks, 'sinks');
  const recent = positiveInt(o.recent, 'recent');
  const from = sinks + recent;
  if (ids.length <= from + 1) throw new RangeError(`duo profile: ${ids.length} calibration tokens; more than sinks + recent + 1 = ${from + 1} are needed`);
  const full = runCut(model, ids, from, undefined, sinks, recent);
  const gates = Array.from({ length: nLayers }, (_, l) =>
    Array.from({ length: nKvHeads }, (_, h) => {
      const cut = runCut(model, ids, from, { layer: l, head: h }, sinks, recent);
      let kl = 0;
      for (let t = 0; t < full.length; t++) kl += klDivergence(full[t]!, cut[t]!);
      return kl / full.length;
    }),
  );
  return { method: 'kl-when-streaming', sinks, recent, tokens: ids.length, gates };
}

/** Logits predicting ids[from + 1 …] with the first `from` + 1 tokens prefilled and the rest run one by one, one head optionally kept streaming. */
function runCut(model: PressModel, ids: readonly number[], from: number, cut: { layer: number; head: number } | undefined, sinks: number, recent: number): Float32Array[] {
  const cache: KVCache = model.newCache();
  const hooks = cut && {
    afterAttention(ctx: { layer: number; heads: KVCache['heads'][number] }) {
      if (ctx.layer !== cut.layer) return;
      const h = ctx.heads[cut.head]!;
      if (h.length > sinks + recent) h.keep(Int32Array.from({ length: sinks + recent }, (_, i) => (i < sinks ? i : h.length - (sinks + recent) + i)));
    },
  };
  const out = [model.forward(ids.slice(0, from + 1), cache, { hooks })];
  for (let t = from + 1; t < ids.length - 1; t++) out.push(model.forward([ids[t]!], cache, { hooks }));
  cache.free();
  return out;
}

/** Parses and checks a gates file against the model it is used with. */
export function parseDuoGates(text: string, shape: { nLayers: number; nKvHeads: number }): DuoGates {
  const g = JSON.parse(text) as DuoGates;
  const ok =
    g?.method === 'kl-when-streaming' &&
    Array.isArray(g.gates) &&
    g.gates.length === shape.nLayers &&
    g.gates.every((l) => Array.isArray(l) && l.length === shape.nKvHeads && l.every((v) => typeof v === 'number' && v >= 0));
  if (!ok) throw new RangeError(`duo gates: expected method 'kl-when-streaming' and gates[${shape.nLayers}][${shape.nKvHeads}] of numbers ≥ 0`);
  return g;
}
