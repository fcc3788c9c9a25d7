import { Template } from '@huggingface/jinja';
import { FormatError } from '../formats/format-error.js';
import type { ChatMessage } from './tokenizer.js';

/** The template refused a conversation (e.g. its `raise_exception` for roles that do not alternate). */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
}

/** The special-token strings templates refer to (`{{ bos_token }}` ...), as transformers passes them. */
export type TemplateTokens = Partial<Record<'bos_token' | 'eos_token' | 'unk_token' | 'pad_token', string>>;

/** A Jinja chat template (HF tokenizer_config.json `chat_template`, GGUF `tokenizer.chat_template`). */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly tokens: TemplateTokens,
    file: string,
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new FormatError(file, `chat template does not parse: ${(e as Error).message}`);
    }
  }

  render(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    try {
      return this.template.render({ ...this.tokens, messages, add_generation_prompt: opts.addGenerationPrompt ?? false });
    } catch (e) {
      throw new ChatTemplateError(`chat template: ${(e as Error).message}`);
    }
  }
}

/**
 * The template text from a `chat_template` value: a string, or a list of `{ name, template }` where
 * transformers uses the one named "default" (else, here, the first). Undefined when there is none.
 */
export function pickChatTemplate(value: unknown, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.filter(
      (t): t is { name: unknown; template: string } => typeof t === 'object' && t !== null && typeof (t as { template?: unknown }).template === 'string',
    );
    if (named.length !== value.length) throw new FormatError(file, 'chat_template list entries must be { name, template } objects');
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  throw new FormatError(file, `chat_template must be a string or a list of named templates, not ${typeof value}`);
}
