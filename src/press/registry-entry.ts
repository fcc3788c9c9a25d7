import type { Press } from './press.js';
import type { PressContext } from './press-context.js';
import type { Scorer } from './scorer-press.js';

export type ParamValue = number | string | boolean;

export interface PressParam {
  name: string;
  default: ParamValue;
  description: string;
}

/** One method in the registry: its name, a one-line description, its parameters and a factory. */
export interface PressEntry {
  name: string;
  description: string;
  params: PressParam[];
  /** The parameter that sets how much the press keeps when the ratio does not (FastGen's τ: a ratio only switches it on). */
  memoryParam?: string;
  /**
   * Builds the press; `params` holds every declared parameter (defaults filled in, types checked);
   * `find` looks up other entries by name (for presses that wrap another, such as AdaKV); `ctx`
   * holds the model and tokenizer for presses that run the model themselves (KVzip, DuoAttention).
   */
  create(
    params: Record<string, ParamValue>,
    find: (name: string) => { entry: PressEntry; params: Record<string, ParamValue> },
    ctx: PressContext,
  ): Press;
  /** Scoring methods also expose their scorer, so budget pieces (PyramidKV, AdaKV) can wrap them. */
  scorer?(params: Record<string, ParamValue>): Scorer;
}
