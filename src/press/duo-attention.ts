import { keepCount } from './budget.js';
import { parseDuoGates, profileDuoGates, type DuoGates } from './duo-gates.js';
import type { LayerView } from './layer-view.js';
import { nonNegativeInt, positiveInt } from './param-checks.js';
import type { Budget, DecodingPhase, Keep, Press } from './press.js';
import type { PressContext, PressModel } from './press-context.js';
import type { PressEntry } from './registry-entry.js';

export interface DuoAttentionOptions {
  sinks: number;
  recent: number;
  /** A gates file from `kvtrim duo-profile`; empty: profile the model on its own greedy text of `calibration` tokens. */
  gates: string;
  calibration: number;
}

export const duoAttentionDefaults: DuoAttentionOptions = { sinks: 4, recent: 32, gates: '', calibration: 128 };

/** Which heads stream after a prefill, and the window they keep. */
interface StreamingPlan {
  streaming: Uint8Array[];
  sinks: number;
  recent: number;
  /** The last head chosen to stream keeps a longer recent window, so that the total meets the budget exactly. */
  marginal?: { layer: number; head: number; recent: number };
}

/**
 * DuoAttention (methods.md §19): retrieval heads keep their whole cache, streaming heads only the
 * first `sinks` and the last `recent` entries, at the end of prefill and after every decoding step.
 * The heads with the lowest gates stream; the budget sets how many: the fewest whose savings bring
 * the cache within Σ n_keep, the last of them keeping a longer recent window so that the total is
 * Σ n_keep exactly (if even all streaming is too much, every head streams with its window cut to
 * n_keep). Heads keep different lengths — the ragged cache makes that real memory.
 */
export class DuoAttentionPress implements Press {
  readonly name = 'duo-attention';
  private plan: StreamingPlan | undefined;
  private gateTable: DuoGates | undefined;

  constructor(
    private readonly ctx: PressContext,
    readonly opts: DuoAttentionOptions = duoAttentionDefaults,
  ) {}

  compress(view: LayerView, budget: Budget): Keep | null {
    const T = view.length(0);
    if (keepCount(T, budget) >= T) return null;
    // Prefill: every layer holds the prompt's T entries, so the plan for the whole model is made once per prefill.
    this.plan ??= this.choose(view.config, T, budget);
    return this.cut(view);
  }

  /** The gates in use (loaded or profiled on first use). */
  gatesFor(config: PressModel['config']): DuoGates {
    return (this.gateTable ??= this.loadGates(config));
  }

  /** Streaming heads per layer after the last prefill (1 = streaming), or undefined before any compression. */
  streamingHeads(): Uint8Array[] | undefined {
    return this.plan?.streaming;
  }

  beginPrefill(): void {
    this.plan = undefined;
  }

  readonly decoding: DecodingPhase = {
    start: () => ({ name: 'duo-attention-decoding', compress: (view) => (this.plan ? this.cut(view) : null) }),
  };

  private choose(config: PressModel['config'], T: number, budget: Budget): StreamingPlan {
    const { gates } = this.gatesFor(config);
    const { nLayers, nKvHeads } = config;
    const N = nLayers * nKvHeads;
    const window = Math.min(T, this.opts.sinks + this.opts.recent);
    const nKeep = keepCount(T, budget);
    const over = N * (T - nKeep);
    // Lowest gate first; ties by layer, then head.
    const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => gates[Math.floor(a / nKvHeads)]![a % nKvHeads]! - gates[Math.floor(b / nKvHeads)]![b % nKvHeads]! || a - b);
    const m = window < T ? Math.ceil(over / (T - window) - 1e-9) : Infinity;
    const streaming = Array.from({ length: nLayers }, () => new Uint8Array(nKvHeads));
    for (const i of order.slice(0, Math.min(N, m))) streaming[Math.floor(i / nKvHeads)]![i % nKvHeads] = 1;
    if (m <= N) {
      // m streaming heads save m·(T − window) ≥ over entries: the last one gives back the surplus.
      const last = order[m - 1]!;
      const surplus = m * (T - window) - over;
      const marginal = { layer: Math.floor(last / nKvHeads), head: last % nKvHeads, recent: this.opts.recent + surplus };
      return { streaming, sinks: this.opts.sinks, recent: this.opts.recent, ...(m > 0 && surplus > 0 ? { marginal } : {}) };
    }
    const sinks = Math.min(this.opts.sinks, nKeep);
    return { streaming, sinks, recent: nKeep - sinks };
  }

  private cut(view: LayerView): Keep | null {
    const plan = this.plan!;
    const mask = plan.streaming[view.layer]!;
    const keep = Array.from({ length: view.kvHeads }, (_, h) => {
      const T = view.length(h);
      const m = plan.marginal;
      const recent = m && m.layer === view.layer && m.head === h ? m.recent : plan.recent;
      if (!mask[h] || T <= plan.sinks + recent) return Int32Array.from({ length: T }, (_, j) => j);
      return Int32Array.from({ length: plan.sinks + recent }, (_, i) => (i < plan.sinks ? i : T - plan.sinks - recent + i));
    });
    return keep.every((k, h) => k.length === view.length(h)) ? null : keep;
  }

  private loadGates(config: PressModel['config']): DuoGates {
    const { gates, sinks, recent, calibration } = this.opts;
    if (gates) {
      if (!this.ctx.readText) throw new Error("duo-attention: reading a gates file needs a file reader (createPress('duo-attention', params, { readText }))");
      return parseDuoGates(this.ctx.readText(gates), config);
    }
    const { model } = this.ctx;
    if (!model) throw new Error("duo-attention: without a gates file it profiles the model: create it with createPress('duo-attention', params, { model })");
    return profiledGates(model, { sinks, recent, calibration });
  }
}

const profiled = new WeakMap<PressModel, Map<string, DuoGates>>();

/** Gates profiled on the model's own greedy continuation of BOS, computed once per model and settings. */
function profiledGates(model: PressModel, o: { sinks: number; recent: number; calibration: number }): DuoGates {
  const key = `${o.sinks}/${o.recent}/${o.calibration}`;
  let byKey = profiled.get(model);
  if (!byKey) profiled.set(model, (byKey = new Map()));
  let g = byKey.get(key);
  if (!g) byKey.set(key, (g = profileDuoGates(model, greedyText(model, o.calibration), o)));
  return g;
}

/** n tokens: BOS (or token 0) and the model's greedy continuation — calibration text any model can supply. */
export function greedyText(model: PressModel, n: number): number[] {
  const cache = model.newCache();
  const ids = [model.config.bosId ?? 0];
  let logits = model.forward(ids, cache);
  while (ids.length < Math.min(n, model.config.maxSeqLen)) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    ids.push(best);
    logits = model.forward([best], cache);
  }
  cache.free();
  return ids;
}

export function duoAttentionOptions(p: Record<string, unknown>): DuoAttentionOptions {
  return {
    sinks: nonNegativeInt(p.sinks, 'sinks'),
    recent: positiveInt(p.recent, 'recent'),
    gates: String(p.gates),
    calibration: positiveInt(p.calibration, 'calibration'),
  };
}

export const duoAttentionEntry: PressEntry = {
  name: 'duo-attention',
  description: 'DuoAttention: retrieval heads keep the whole cache, streaming heads (lowest profiled gates) keep sinks + a recent window; the ratio sets how many heads stream',
  params: [
    { name: 'sinks', default: duoAttentionDefaults.sinks, description: 'initial entries a streaming head keeps' },
    { name: 'recent', default: duoAttentionDefaults.recent, description: 'most recent entries a streaming head keeps' },
    { name: 'gates', default: duoAttentionDefaults.gates, description: 'gates file from `kvtrim duo-profile` (empty: profile the model on its own greedy text)' },
    { name: 'calibration', default: duoAttentionDefaults.calibration, description: 'calibration tokens when profiling without a gates file' },
  ],
  create: (p, _find, ctx) => new DuoAttentionPress(ctx, duoAttentionOptions(p)),
};
