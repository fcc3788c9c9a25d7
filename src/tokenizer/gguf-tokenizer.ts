import { FormatError } from '../formats/format-error.js';
import { ChatTemplate, type TemplateTokens } from './chat-template.js';
import { knownPreTokenizers, preTokenizerRule } from './gguf-pre-tokenizers.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { mergesFromScores } from './spm-merges.js';

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
const TokenType = { undefined: 0, normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Texts llama.cpp treats as end of generation when they are control or user-defined tokens. */
const END_OF_GENERATION = new Set([
  '<|eot_id|>', '<|eom_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<EOT>', '_<EOT>', '<｜end▁of▁sentence｜>',
]);

const SPACE = '\u2581';

/**
 * The tokenizer embedded in a GGUF file's metadata, rebuilt as the equivalent tokenizer.json and run by
 * `@huggingface/tokenizers`: `llama` (SentencePiece BPE: merges derived from the scores, ▁ for spaces,
 * byte fallback) or `gpt2` (byte-level BPE with the file's merges and llama.cpp's pre-tokenizer regexes).
 */
export function ggufTokenizer(metadata: Record<string, unknown>, file: string): HfTokenizer {
  const meta = new GgufTokenizerMetadata(metadata, file);
  const model = meta.string('tokenizer.ggml.model');
  if (model === undefined) throw new FormatError(file, 'has no embedded tokenizer (no tokenizer.ggml.model); pass --tokenizer');
  const tokens = meta.strings('tokenizer.ggml.tokens');
  if (!tokens || tokens.length === 0) throw new FormatError(file, 'tokenizer.ggml.tokens is missing or empty');
  const types = meta.numbers('tokenizer.ggml.token_type', tokens.length) ?? tokens.map(() => TokenType.normal);
  const id = (key: string) => meta.tokenId(key, tokens.length);
  const bos = id('tokenizer.ggml.bos_token_id');
  const eos = id('tokenizer.ggml.eos_token_id');
  const unk = id('tokenizer.ggml.unknown_token_id');

  const addedTokens = tokens.flatMap((content, i) => {
    const t = types[i];
    if (t !== TokenType.unknown && t !== TokenType.control && t !== TokenType.userDefined) return [];
    return [{ id: i, content, special: t !== TokenType.userDefined, normalized: false, lstrip: false, rstrip: false, single_word: false }];
  });
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  let body: Record<string, unknown>;
  if (model === 'llama') {
    const scores = meta.numbers('tokenizer.ggml.scores', tokens.length) ?? tokens.map(() => 0);
    const mergeable = (i: number) => types[i] === TokenType.normal || types[i] === TokenType.undefined;
    const prefix = meta.boolean('tokenizer.ggml.add_space_prefix') ?? true;
    body = {
      normalizer: {
        type: 'Sequence',
        normalizers: [...(prefix ? [{ type: 'Prepend', prepend: SPACE }] : []), { type: 'Replace', pattern: { String: ' ' }, content: SPACE }],
      },
      pre_tokenizer: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
        ],
      },
      model: {
        type: 'BPE', vocab, merges: mergesFromScores(tokens, scores, mergeable, file),
        unk_token: tokens[unk ?? 0], byte_fallback: true, fuse_unk: true, ignore_merges: false,
      },
    };
  } else if (model === 'gpt2') {
    const pre = meta.string('tokenizer.ggml.pre');
    const rule = preTokenizerRule(pre);
    if (!rule) throw new FormatError(file, `unknown tokenizer.ggml.pre '${pre}' (known: ${knownPreTokenizers().join(', ')})`);
    const merges = (meta.strings('tokenizer.ggml.merges') ?? []).map((m, i) => {
      // As llama.cpp: the separator is the first space after the first character.
      const at = m.indexOf(' ', 1);
      if (at < 0) throw new FormatError(file, `tokenizer.ggml.merges[${i}] '${m}' is not two space-separated pieces`);
      return [m.slice(0, at), m.slice(at + 1)];
    });
    body = {
      normalizer: null,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          ...rule.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
        ],
      },
      decoder: { type: 'ByteLevel' },
      model: { type: 'BPE', vocab, merges, byte_fallback: false, ignore_merges: rule.ignoreMerges ?? false },
    };
  } else {
    throw new FormatError(file, `tokenizer.ggml.model '${model}' is not supported (llama, gpt2)`);
  }

  const addBos = (meta.boolean('tokenizer.ggml.add_bos_token') ?? model === 'llama') && bos !== undefined;
  const json = {
    version: '1.0',
    added_tokens: addedTokens,
    post_processor: addBos
      ? { type: 'TemplateProcessing', single: [{ SpecialToken: { id: tokens[bos], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] }
      : null,
    ...body,
  };

  const endIds = [eos, id('tokenizer.ggml.eot_token_id'), id('tokenizer.ggml.eom_token_id')].filter((x) => x !== undefined);
  tokens.forEach((t, i) => {
    if ((types[i] === TokenType.control || types[i] === TokenType.userDefined) && END_OF_GENERATION.has(t)) endIds.push(i);
  });
  const templateTokens: TemplateTokens = {};
  if (bos !== undefined) templateTokens.bos_token = tokens[bos];
  if (eos !== undefined) templateTokens.eos_token = tokens[eos];
  if (unk !== undefined) templateTokens.unk_token = tokens[unk];
  const source = meta.string('tokenizer.chat_template');
  const chatTemplate = source === undefined ? undefined : new ChatTemplate(source, templateTokens, file);
  const specialIds = tokens.flatMap((_, i) => (types[i] === TokenType.control ? [i] : []));
  return new HfTokenizer({ json, config: { clean_up_tokenization_spaces: false }, bos, eos: endIds, special: specialIds, chatTemplate, file });
}

/** Typed, checked access to the tokenizer.* keys of GGUF metadata. */
class GgufTokenizerMetadata {
  constructor(
    private readonly metadata: Record<string, unknown>,
    private readonly file: string,
  ) {}

  private get(key: string): unknown {
    return Object.hasOwn(this.metadata, key) ? this.metadata[key] : undefined;
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === 'string') return v;
    throw new FormatError(this.file, `${key} must be a string`);
  }

  boolean(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === 'boolean') return v;
    throw new FormatError(this.file, `${key} must be a bool`);
  }

  strings(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    throw new FormatError(this.file, `${key} must be an array of strings`);
  }

  /** A numeric array that must have one entry per token. */
  numbers(key: string, length: number): number[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new FormatError(this.file, `${key} must be an array of numbers`);
    if (v.length !== length) throw new FormatError(this.file, `${key} has ${v.length} entries for ${length} tokens`);
    return v as number[];
  }

  /** A token id; absent or -1 (stored as u32 4294967295) means none. */
  tokenId(key: string, vocabSize: number): number | undefined {
    const v = this.get(key);
    if (v === undefined || v === -1 || v === 0xffffffff) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocabSize)
      throw new FormatError(this.file, `${key} = ${String(v)} is not a token id (vocabulary of ${vocabSize})`);
    return v;
  }
}
