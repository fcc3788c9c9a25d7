import type { ModelConfig } from '../formats/model-config.js';
import type { Session } from '../generate/session.js';
import type { ForwardHooks } from '../model/hooks.js';
import type { Press } from '../press/press.js';
import { pressHooks } from '../press/press-hooks.js';
import { createPress } from '../press/registry.js';
import type { KvBudget, Reservation } from './kv-budget.js';
import { kvBytesPerToken } from './kv-bytes.js';

/**
 * Presses a sequence can be capped with: one top-k per head under a token budget, with protected
 * entries inside it, so every head holds at most the cap (a layer schedule such as PyramidKV's, a
 * head allocation such as AdaKV's, shots or a press of its own decoding phase would not hold it).
 */
export const PRESSURE_PRESSES = ['streamingllm', 'h2o', 'snapkv', 'tova', 'knorm', 'keydiff', 'random'] as const;

export interface PressureOptions {
  /** The decoding press a capped sequence runs (default streamingllm). */
  press?: string;
  /** The fewest positions a capped sequence keeps (default 64). */
  floor?: number;
}

/** One cap a sequence got: from the step that ran its `at_token`-th completion token on, it holds at most `kept_positions`. */
export interface PressureCapRecord {
  at_token: number;
  kept_positions: number;
}

/** What `usage.kv_pressure` reports of a sequence compressed under pressure. */
export interface PressureReport {
  press: string;
  /** The completion token whose step first compressed the cache (the tokens up to the one after it saw the whole cache). */
  compressed_at_token: number;
  /** Positions the cache holds at most at the end (the last cap). */
  kept_positions: number;
  /** Every cap, in order (a later one is tighter). */
  caps: PressureCapRecord[];
}

/** Checks a pressure press name and floor; a mistake is a RangeError naming what is allowed. */
export function checkPressureOptions(opts: PressureOptions): Required<PressureOptions> {
  const press = opts.press ?? 'streamingllm';
  if (!(PRESSURE_PRESSES as readonly string[]).includes(press))
    throw new RangeError(`pressure press '${press}' cannot cap a running sequence; one of: ${PRESSURE_PRESSES.join(', ')}`);
  const floor = opts.floor ?? 64;
  if (!(Number.isSafeInteger(floor) && floor >= 1)) throw new RangeError(`pressure floor ${floor} must be a positive whole number of positions`);
  return { press, floor };
}

/**
 * `--on-pressure compress`: when a request waits for KV room, running sequences past their prefill
 * are capped, largest reservation first and down to one common level (never below the floor), so
 * the room they give back admits the waiters; a cap that cannot admit even the first waiter is not
 * made (it waits, then 429, as without compression). A capped sequence runs the pressure press at
 * every later step with a budget of K positions per head; its reservation shrinks to K + 1
 * positions (the step's new token is held before the press drops one) only once a whole step has
 * compressed it, so reservations — and the bytes held — never pass the budget.
 */
export class PressureRelief {
  readonly press: string;
  readonly floor: number;
  private readonly sequences = new Set<SequenceCap>();
  private readonly perToken: number;

  constructor(
    private readonly budget: KvBudget,
    readonly config: ModelConfig,
    opts: PressureOptions = {},
  ) {
    ({ press: this.press, floor: this.floor } = checkPressureOptions(opts));
    this.perToken = kvBytesPerToken(config);
    budget.onQueueChange(() => this.relieve());
  }

  /** The cache must keep attention sums from its start (H2O). */
  get needsAttentionSums(): boolean {
    return createPress(this.press).needsAttentionSums === true;
  }

  /** A sequence that may be capped once it decodes; its hooks go with its every decoding step. */
  sequence(session: Session, reservation: Reservation): SequenceCap {
    return new SequenceCap(this, session, reservation, createPress(this.press), this.perToken);
  }

  /** The sequence's prefill is done: from now on its reservation is what it can still grow to, and it may be capped. */
  decoding(cap: SequenceCap): void {
    this.sequences.add(cap);
    this.relieve();
  }

  leave(cap: SequenceCap): void {
    this.sequences.delete(cap);
  }

  /**
   * Caps enough running sequences for the longest run of waiters, in line order, that capping can
   * admit. Caps not yet in effect are worked out afresh each time: room that came back otherwise
   * (a sequence ended, a waiter left) withdraws them.
   */
  relieve(): void {
    const caps = [...this.sequences];
    for (const c of caps) c.withdraw();
    const floorBytes = (this.floor + 1) * this.perToken;
    const pledged = caps.reduce((s, c) => s + c.reservation.bytes - c.bytesAfterCap(), 0);
    const free = this.budget.totalBytes - this.budget.used + pledged;
    const freeable = caps.reduce((s, c) => s + Math.max(0, c.bytesAfterCap() - floorBytes), 0);
    let need = 0;
    for (const b of this.budget.waitingBytes()) {
      if (need + b > free + freeable) break;
      need += b;
    }
    const short = need - free;
    if (short <= 0) return;
    // The largest cap K (in positions) whose level frees enough: freed bytes fall as K grows.
    const freed = (k: number) => caps.reduce((s, c) => s + Math.max(0, c.bytesAfterCap() - (k + 1) * this.perToken), 0);
    let lo = this.floor;
    let hi = Math.max(...caps.map((c) => Math.floor(c.bytesAfterCap() / this.perToken)));
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (freed(mid) >= short) lo = mid;
      else hi = mid - 1;
    }
    for (const c of caps) if (c.bytesAfterCap() > (lo + 1) * this.perToken) c.capAt(lo);
  }
}

/**
 * One sequence's cap: set between steps (or mid-step, for the next one), it takes effect at the
 * first layer of the sequence's next step, and the reservation shrinks after that step's last layer.
 */
export class SequenceCap {
  /** The tightest cap asked for, in positions; it takes effect at the sequence's next step. */
  private target: number | undefined;
  private active: { positions: number; hooks: ForwardHooks } | undefined;
  private takingEffect = false;
  readonly records: PressureCapRecord[] = [];
  readonly hooks: ForwardHooks;

  constructor(
    private readonly relief: PressureRelief,
    private readonly session: Session,
    readonly reservation: Reservation,
    private readonly press: Press,
    private readonly perToken: number,
  ) {
    const lastLayer = relief.config.nLayers - 1;
    this.hooks = {
      afterAttention: (actx) => {
        if (actx.layer === 0 && this.target !== undefined && this.target !== this.active?.positions) this.takeEffect(this.target);
        this.active?.hooks.afterAttention!(actx);
        if (this.takingEffect && actx.layer === lastLayer) {
          this.takingEffect = false;
          // The press compacts in place; a compact copy gives the buffers' spare capacity back as well
          // (after the last layer's attention this forward reads the cache no more).
          const compact = this.session.cache.clone();
          this.session.cache.restore(compact);
          compact.free();
          this.reservation.shrink((this.active!.positions + 1) * this.perToken);
        }
      },
    };
  }

  /** The reservation once the cap asked for has taken effect. */
  bytesAfterCap(): number {
    const b = this.reservation.bytes;
    return this.target === undefined ? b : Math.min(b, (this.target + 1) * this.perToken);
  }

  /** Asks for a cap of `positions` (only ever tighter) from the next step on. */
  capAt(positions: number): void {
    if (this.target === undefined || positions < this.target) this.target = positions;
  }

  /** Drops a cap asked for that has not taken effect yet. */
  withdraw(): void {
    this.target = this.active?.positions;
  }

  report(): PressureReport | undefined {
    if (this.records.length === 0) return undefined;
    return { press: this.press.name, compressed_at_token: this.records[0]!.at_token, kept_positions: this.records.at(-1)!.kept_positions, caps: this.records };
  }

  private takeEffect(positions: number): void {
    const { session } = this;
    const ctx = { config: this.relief.config, tokens: session.cache.tokens, segments: session.segments, tokenizer: session.tokenizer };
    this.active = { positions, hooks: pressHooks(this.press, { tokens: positions }, ctx) };
    this.takingEffect = true;
    this.records.push({ at_token: session.stats.generatedTokens, kept_positions: positions });
  }
}
