/**
 * kvtrim-tiny's tokenizer: one token per character (newline and printable ASCII) plus <unk>, <s>, </s>,
 * written as a standard tokenizer.json (a BPE model with no merges) so kvtrim loads it like any HF model.
 */
export const UNK = 0;
export const BOS = 1;
export const EOS = 2;
const SPECIALS = ['<unk>', '<s>', '</s>'];
const CHARS = ['\n', ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))];
export const VOCAB_SIZE = SPECIALS.length + CHARS.length;

const idOf = new Map(CHARS.map((c, i) => [c, i + SPECIALS.length]));

/** Character ids without BOS; characters outside the vocabulary become <unk>, as the tokenizer.json does. */
export function encodeChars(text: string): number[] {
  return Array.from(text, (c) => idOf.get(c) ?? UNK);
}

export function decodeChars(ids: readonly number[]): string {
  return ids.map((id) => (id >= SPECIALS.length ? CHARS[id - SPECIALS.length] : '')).join('');
}

export function tokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  SPECIALS.forEach((t, id) => (vocab[t] = id));
  CHARS.forEach((c, i) => (vocab[c] = i + SPECIALS.length));
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [BOS], tokens: ['<s>'] } },
    },
    decoder: { type: 'Fuse' },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

export function tokenizerConfigJson(): Record<string, unknown> {
  return { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', model_max_length: 1 << 20, tokenizer_class: 'PreTrainedTokenizerFast' };
}
