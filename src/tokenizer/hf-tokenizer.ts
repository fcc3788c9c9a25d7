import { Tokenizer as LibTokenizer } from '@huggingface/tokenizers';
import { describeValue } from '../formats/describe-value.js';
import { FormatError } from '../formats/format-error.js';
import type { ChatTemplate } from './chat-template.js';
import type { ChatMessage, Tokenizer } from './tokenizer.js';

/** Encoded and decoded once at load, so parts the library checks only when they run fail there, not at first use. */
const PROBE_TEXT = 'Hello, world! 123 ünï <s>';

/** What builds an HfTokenizer: a tokenizer.json object (from disk or built from a GGUF vocab) and its context. */
export interface HfTokenizerSpec {
  /** The tokenizer.json object. */
  json: Record<string, unknown>;
  /** tokenizer_config.json (or an equivalent built here); `{}` when absent. */
  config: Record<string, unknown>;
  /** BOS and EOS as ids or token strings (strings are looked up in the vocabulary; unknown ones are ignored). */
  bos: number | string | undefined;
  eos: readonly (number | string)[];
  /** Tokens (ids or strings) to treat as special beyond the `special: true` added tokens. */
  special?: readonly (number | string)[];
  chatTemplate?: ChatTemplate;
  /** Where the tokenizer came from, for error messages. */
  file: string;
}

/** A tokenizer.json tokenizer run by `@huggingface/tokenizers`. */
export class HfTokenizer implements Tokenizer {
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly vocabSize: number;
  readonly applyChatTemplate?: (messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }) => string;
  private readonly lib: LibTokenizer;
  private readonly specialIds: Set<number>;
  private readonly bosText: string | undefined;
  private readonly pieces: (string | undefined)[] = [];
  /** A plain token decoded before the one asked for, so decoders that strip a leading space keep it. */
  private readonly anchor: { id: number; text: string } | undefined;

  constructor(spec: HfTokenizerSpec) {
    // The library checks some parts only when they first run (a malformed post_processor throws a
    // TypeError on the first encode), so everything that touches it at load, a probe included, is wrapped.
    try {
      this.lib = new LibTokenizer(spec.json, spec.config);
      const vocab = this.lib.model?.vocab ?? [];
      this.vocabSize = vocab.length;
      this.bosId = this.resolve(spec.bos);
      this.eosIds = [...new Set(spec.eos.map((t) => this.resolve(t)).filter((id) => id !== undefined))];
      this.specialIds = new Set((spec.special ?? []).map((t) => this.resolve(t)).filter((id) => id !== undefined));
      for (const t of this.lib.get_added_tokens_decoder().values()) if (t.special) this.specialIds.add(t.id);
      this.bosText = this.bosId === undefined ? undefined : this.lib.id_to_token(this.bosId);
      this.anchor = this.findAnchor();
      this.decode(this.encode(PROBE_TEXT, { addBos: true }), { keepSpecial: true });
    } catch (e) {
      throw new FormatError(spec.file, `not a usable tokenizer: ${e instanceof Error ? e.message : describeValue(e)}`);
    }
    const chat = spec.chatTemplate;
    if (chat) this.applyChatTemplate = (messages, opts) => chat.render(messages, opts);
  }

  /**
   * `addBos` undefined: whatever the tokenizer's post-processor adds (HF's convention); false: no
   * special tokens; true: BOS first even if the post-processor does not add it. A text that already
   * starts with the BOS string (a chat template's `{{ bos_token }}`) never gets a second BOS.
   */
  encode(text: string, opts: { addBos?: boolean } = {}): number[] {
    // The library yields undefined for a piece it cannot map when the vocabulary has no unk token.
    const ids = this.lib.encode(text, { add_special_tokens: opts.addBos !== false }).ids.filter((id: number | undefined) => id !== undefined);
    const bos = this.bosId;
    if (bos === undefined) return ids;
    if (opts.addBos === true && ids[0] !== bos) ids.unshift(bos);
    if (ids[0] === bos && ids[1] === bos && this.bosText !== undefined && text.startsWith(this.bosText)) ids.shift();
    return ids;
  }

  /** Decodes with the tokenizer's decoder; no clean-up of tokenization spaces, so decoding is lossless. */
  decode(ids: readonly number[], opts: { keepSpecial?: boolean } = {}): string {
    const known = ids.filter((id) => this.known(id));
    if (known.length === 0) return '';
    return this.lib.decode(known, { skip_special_tokens: !opts.keepSpecial, clean_up_tokenization_spaces: false });
  }

  piece(id: number): string {
    if (!this.known(id)) return '';
    const cached = this.pieces[id];
    if (cached !== undefined) return cached;
    const opts = { skip_special_tokens: false, clean_up_tokenization_spaces: false };
    const a = this.anchor;
    const joined = a ? this.lib.decode([a.id, id], opts) : '';
    const p = a && joined.startsWith(a.text) ? joined.slice(a.text.length) : this.lib.decode([id], opts);
    this.pieces[id] = p;
    return p;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  private resolve(token: number | string | undefined): number | undefined {
    const id = typeof token === 'string' ? this.lib.token_to_id(token) : token;
    return id !== undefined && this.known(id) ? id : undefined;
  }

  private known(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.lib.id_to_token(id) !== undefined;
  }

  private findAnchor(): { id: number; text: string } | undefined {
    const id = this.lib.encode('a', { add_special_tokens: false }).ids.at(-1);
    if (id === undefined || this.isSpecial(id)) return undefined;
    const text = this.lib.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    return text.length > 0 && !text.endsWith('\uFFFD') ? { id, text } : undefined;
  }
}
