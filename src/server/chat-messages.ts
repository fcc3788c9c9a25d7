import { ChatTemplate, ChatTemplateError } from '../tokenizer/chat-template.js';
import type { ChatMessage, Tokenizer } from '../tokenizer/tokenizer.js';
import { ApiError, badField } from './api-error.js';

/** A chat message as OpenAI's API sends it (schema-checked): content is a string or a list of text parts. */
export interface ApiMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | { type: 'text'; text: string }[];
}

/** Renders chats to prompts: with the server's template when one was given, else the model's own. */
export class ChatRenderer {
  private readonly template: ChatTemplate | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    templateSource?: string,
  ) {
    const text = (id: number | undefined) => (id === undefined ? undefined : tokenizer.decode([id], { keepSpecial: true }));
    this.template =
      templateSource === undefined
        ? undefined
        : new ChatTemplate(templateSource, { bos_token: text(tokenizer.bosId), eos_token: text(tokenizer.eosIds[0]) }, 'chat template');
  }

  get available(): boolean {
    return this.template !== undefined || this.tokenizer.applyChatTemplate !== undefined;
  }

  /** The prompt for `messages`, ending where the assistant's reply starts. */
  render(messages: ApiMessage[]): string {
    // OpenAI's "developer" role is the system role of newer models; templates know only "system".
    const chat: ChatMessage[] = messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
    }));
    if (!this.available)
      throw new ApiError(400, 'this model has no chat template: start the server with --chat-template FILE, or use /v1/completions', { param: 'messages' });
    try {
      return this.template ? this.template.render(chat, { addGenerationPrompt: true }) : this.tokenizer.applyChatTemplate!(chat, { addGenerationPrompt: true });
    } catch (e) {
      if (e instanceof ChatTemplateError) throw badField('messages', e.message);
      throw e;
    }
  }
}
