/** One chat message, as chat templates expect it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
}

/** Text ⇄ ids. Every tokenizer kvtrim loads (tokenizer.json, GGUF vocab, llama2.c) implements this. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  /** Encodes text; `addBos` (default: the tokenizer's own convention) prepends BOS. */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** Decodes ids to text; special tokens are dropped unless `keepSpecial`. */
  decode(ids: readonly number[], opts?: { keepSpecial?: boolean }): string;
  /** The decoded surface text of one token (for FastGen's punctuation class and heatmap labels). */
  piece(id: number): string;
  /** True for control / special tokens (BOS, EOS, chat-template markers). */
  isSpecial(id: number): boolean;
  /** Renders a chat with the model's template; undefined when the model has none. */
  applyChatTemplate?(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}
