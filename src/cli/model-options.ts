import type { Command } from 'commander';
import { defaultModelPath } from '../model/default-model.js';
import { loadModel, type LoadedModel } from '../model/load-model.js';

export interface ModelFlags {
  model?: string;
  tokenizer?: string;
}

/** The flags every command that runs a model shares. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <path>', 'HF directory, .gguf file or llama2.c .bin (default: the embedded kvtrim-tiny)')
    .option('--tokenizer <file>', "tokenizer to use instead of the model's own: tokenizer.json (or its folder), .gguf, or llama2.c .bin");
}

export function openModel(flags: ModelFlags): Promise<LoadedModel> {
  return loadModel(flags.model ?? defaultModelPath(), { tokenizerPath: flags.tokenizer });
}

/** Parses a numeric flag, rejecting anything that is not a finite number. */
export function numberFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${value}'`);
    return n;
  };
}
