/**
 * A small SentencePiece-style BPE tokenizer.json (the layout ggufTokenizer builds for `llama` vocabularies):
 * <unk>, <s>, </s>, ▁, a–z and seven merges, 37 tokens in all, matching tinyConfig's vocabulary.
 */
export function tinyTokenizerJson(): Record<string, unknown> {
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  const merges: [string, string][] = [['▁', 't'], ['t', 'h'], ['h', 'e'], ['▁', 'a'], ['a', 'n'], ['i', 'n'], ['e', 'r']];
  const pieces = ['<unk>', '<s>', '</s>', '▁', ...letters, ...merges.map(([a, b]) => a + b)];
  const special = (id: number) => ({ id, content: pieces[id], special: true, normalized: false, lstrip: false, rstrip: false, single_word: false });
  return {
    version: '1.0',
    added_tokens: [special(0), special(1), special(2)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: { type: 'BPE', vocab: Object.fromEntries(pieces.map((p, i) => [p, i])), merges, unk_token: '<unk>', byte_fallback: false, fuse_unk: true, ignore_merges: false },
  };
}

/** ChatML, the template the tiny tokenizer's tokenizer_config.json carries. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
