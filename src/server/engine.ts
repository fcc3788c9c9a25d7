import type { SequenceResult, SequenceSpec } from './sequence.js';

/**
 * What the HTTP layer needs of whatever runs the model: it hands over admitted sequences and gets
 * their tokens and results back. Stepping is the engine's business (the batch scheduler, batch-engine.ts),
 * so replacing it does not touch the routes.
 */
export interface Engine {
  /** Runs a sequence from the next step on; settles when it ends, is cancelled, or fails. */
  submit(spec: SequenceSpec): Promise<SequenceResult>;
  /** Sequences being prefilled or decoded now. */
  readonly running: number;
  /** Steps run so far (a step advances every running sequence by at most one token or prompt chunk). */
  readonly steps: number;
  /** KV bytes the running sequences' caches hold now. */
  heldBytes(): number;
  /** Resolves once no sequence runs. */
  idle(): Promise<void>;
}
