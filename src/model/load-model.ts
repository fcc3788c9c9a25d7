import type { Checkpoint } from '../formats/checkpoint.js';
import { loadCheckpoint } from '../formats/load-checkpoint.js';
import type { Backend } from '../kernels/backend.js';
import { loadTokenizer } from '../tokenizer/load-tokenizer.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Model } from './model.js';

export interface LoadedModel {
  model: Model;
  tokenizer: Tokenizer;
  checkpoint: Checkpoint;
}

/** Loads a checkpoint (HF directory, .gguf or llama2.c .bin) with its tokenizer. */
export async function loadModel(path: string, opts: { tokenizerPath?: string; backend?: Backend } = {}): Promise<LoadedModel> {
  const checkpoint = loadCheckpoint(path, { alloc: opts.backend?.allocBytes?.bind(opts.backend) });
  const tokenizer = await loadTokenizer(checkpoint, { tokenizerPath: opts.tokenizerPath });
  const model = Model.fromCheckpoint(checkpoint, { backend: opts.backend });
  return { model, tokenizer, checkpoint };
}
