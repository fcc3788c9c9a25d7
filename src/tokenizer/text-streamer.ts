import type { Tokenizer } from './tokenizer.js';

/** A UTF-8 character spans at most 4 bytes, so at most 4 byte tokens; past that the text is emitted as is. */
const MAX_HELD = 4;
const REPLACEMENT = '\uFFFD';

/**
 * Turns a stream of generated ids into text pieces that never split a character: ids whose text ends
 * in an incomplete UTF-8 sequence (byte-fallback or byte-level tokens) are held until it completes.
 * Special tokens produce no text, as `decode` drops them.
 */
export class TextStreamer {
  private held: number[] = [];

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Feeds one id; returns the text it completes ('' while a character is still incomplete). */
  push(id: number): string {
    if (this.tokenizer.isSpecial(id)) return this.flush();
    this.held.push(id);
    const text = this.text();
    if (text.endsWith(REPLACEMENT) && this.held.length < MAX_HELD) return '';
    this.held = [];
    return text;
  }

  /** Whatever is still held, with incomplete bytes shown as U+FFFD (end of generation). */
  flush(): string {
    const text = this.held.length > 0 ? this.text() : '';
    this.held = [];
    return text;
  }

  /**
   * The held ids' surface text: one id is its piece; several are decoded together (so their bytes join),
   * restoring a leading space that decoders strip at the start of a text.
   */
  private text(): string {
    const first = this.tokenizer.piece(this.held[0]!);
    if (this.held.length === 1) return first;
    const text = this.tokenizer.decode(this.held);
    return first.startsWith(' ') && !text.startsWith(' ') ? ' ' + text : text;
  }
}
