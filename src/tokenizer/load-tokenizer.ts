import type { Checkpoint } from '../formats/checkpoint.js';
import { FormatError } from '../formats/format-error.js';
import { parseGguf } from '../formats/gguf.js';
import { readFileBytes } from '../formats/read-file.js';
import { platform } from '../platform/platform.js';
import { ggufTokenizer } from './gguf-tokenizer.js';
import { loadHfTokenizer } from './hf-tokenizer-files.js';
import { parseLlama2cTokenizer } from './llama2c-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * The tokenizer of a checkpoint: `opts.tokenizerPath` when given (a tokenizer.json or its directory, a
 * .gguf, or a llama2.c tokenizer .bin); else tokenizer.json beside safetensors, the vocab embedded in a
 * GGUF, or for llama2.c `tokenizer.bin` or the only `tok*.bin` beside the model (an HF directory
 * without tokenizer.json may also carry a llama2.c `tokenizer.bin`).
 */
export async function loadTokenizer(checkpoint: Checkpoint, opts: { tokenizerPath?: string } = {}): Promise<Tokenizer> {
  const tokenizer = await findTokenizer(checkpoint, opts.tokenizerPath);
  // An id past the embedding would fail only at the first forward pass that meets it: refuse it at load.
  if (tokenizer.vocabSize > checkpoint.config.vocabSize)
    throw new FormatError(checkpoint.source, `the tokenizer has ${tokenizer.vocabSize} ids, the model's vocabulary only ${checkpoint.config.vocabSize}`);
  return tokenizer;
}

async function findTokenizer(checkpoint: Checkpoint, tokenizerPath: string | undefined): Promise<Tokenizer> {
  // run.c reads exactly vocab_size entries from the tokenizer file.
  const vocabSize = checkpoint.format === 'llama2c' ? checkpoint.config.vocabSize : undefined;
  if (tokenizerPath !== undefined) return loadTokenizerFile(tokenizerPath, vocabSize);
  const { join, dirname, exists } = platform();
  const dir = isDirectory(checkpoint.source) ? checkpoint.source : dirname(checkpoint.source);
  switch (checkpoint.format) {
    case 'gguf':
      return ggufTokenizer(checkpoint.metadata, checkpoint.source);
    case 'safetensors': {
      const path = join(dir, 'tokenizer.json');
      if (exists(path)) return loadHfTokenizer(path);
      // an HF export of a llama2.c model (e.g. `kvtrim prune`) carries its tokenizer.bin
      const bin = join(dir, 'tokenizer.bin');
      if (exists(bin)) return loadTokenizerFile(bin, checkpoint.config.vocabSize);
      throw new FormatError(checkpoint.source, `no tokenizer.json in ${dir}; pass --tokenizer <file>`);
    }
    case 'llama2c': {
      const path = llama2cTokenizerBeside(dir);
      if (!path) throw new FormatError(checkpoint.source, `no tokenizer.bin or single tok*.bin in ${dir}; pass --tokenizer <file>`);
      return loadTokenizerFile(path, vocabSize);
    }
  }
}

/** A tokenizer file of any supported kind, told apart by its name. */
async function loadTokenizerFile(path: string, llama2cVocabSize: number | undefined): Promise<Tokenizer> {
  if (!platform().exists(path)) throw new FormatError(path, 'tokenizer file not found');
  if (isDirectory(path)) return loadHfTokenizer(platform().join(path, 'tokenizer.json'));
  if (path.endsWith('.json')) return loadHfTokenizer(path);
  const bytes = readFileBytes(path);
  if (path.endsWith('.gguf')) return ggufTokenizer(parseGguf(bytes, path).metadata, path);
  if (path.endsWith('.model'))
    throw new FormatError(path, 'SentencePiece .model files are not supported; use tokenizer.json, a .gguf or a llama2.c tokenizer .bin');
  return parseLlama2cTokenizer(bytes, path, llama2cVocabSize);
}

/** `tokenizer.bin`, or the only `tok*.bin`, in a directory. */
export function llama2cTokenizerBeside(dir: string): string | undefined {
  const { join, basename, exists, listDir } = platform();
  const named = join(dir, 'tokenizer.bin');
  if (exists(named)) return named;
  const candidates = listDir(dir).filter((f) => /^tok.*\.bin$/.test(basename(f)));
  return candidates.length === 1 ? join(dir, candidates[0]!) : undefined;
}

function isDirectory(path: string): boolean {
  try {
    return platform().stat(path).isDirectory;
  } catch {
    return false;
  }
}
