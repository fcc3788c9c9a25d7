import type { KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { KVCache } from '../cache/kv-cache.js';
import type { ForwardHooks } from '../model/hooks.js';
import type { Compression } from '../press/compression.js';
import type { Segment } from '../press/segment.js';
import type { FinishReason, GeneratedToken, GenerateOptions } from '../generate/session.js';
import type { Reservation } from './kv-budget.js';
import type { PressureReport } from './pressure-relief.js';

/** Everything an engine needs to run one request's sequence, decided and admitted by the HTTP layer. */
export interface SequenceSpec {
  /** Token ids to prefill, or text with the segments a shot-level press needs. */
  prompt: string | readonly number[];
  segments?: readonly Segment[];
  /** Tokens the prompt prefills (what a step spends on it). */
  promptTokens: number;
  /** The prompt's compression policy (a fresh one per sequence: presses keep per-prompt state). */
  compression: Compression;
  kvQuant?: KvQuantOptions;
  /** The sequence's own copy of a stored prefix the prompt continues (appended uncompressed); the engine frees it. */
  prefix?: KVCache;
  generate: GenerateOptions;
  /** Extra forward hooks for every decoding step (e.g. compression under budget pressure). */
  stepHooks?: ForwardHooks;
  /** The sequence's room in the KV budget: shrunk to what it can still grow to after prefill, released when it leaves. */
  reservation: Reservation;
  /** Aborting ends the sequence at its next step (client gone, timeout, shutdown) and frees its cache. */
  signal: AbortSignal;
  /** Each generated token, as soon as it is sampled. */
  onToken(t: GeneratedToken): void;
}

/** How a sequence ended, and what it cost. */
export interface SequenceResult {
  finish: FinishReason | 'cancelled';
  /** Tokens this request prefilled (after a stored prefix, only its own). */
  promptTokens: number;
  completionTokens: number;
  /** KV bytes the cache held at the end, and what the uncompressed float32 cache would hold. */
  kvBytes: number;
  kvBytesFull: number;
  /** Share of the prompt's KV entries (prefix included) kept after prefill. */
  prefillKept: number;
  /** Engine steps from the cancellation being seen to the sequence being freed (0 unless cancelled). */
  cancelLagSteps: number;
  /** Set when the sequence was compressed to admit other requests (`--on-pressure compress`). */
  pressure?: PressureReport;
}
