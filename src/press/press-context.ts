import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** The parts of the model a press may run itself (KVzip's reconstruction, DuoAttention's head profile). */
export type PressModel = Pick<Model, 'config' | 'embed' | 'layerForward' | 'forward' | 'newCache'>;

/**
 * What some presses need beyond their parameters, given by whoever creates them (library, CLI,
 * study): presses that run the model fail clearly at their first use when it is absent.
 */
export interface PressContext {
  model?: PressModel;
  tokenizer?: Pick<Tokenizer, 'encode' | 'isSpecial'>;
  /** Reads a file a parameter names (DuoAttention's gates); absent where there are no files. */
  readText?(path: string): string;
}
