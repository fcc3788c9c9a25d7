import { ChatTemplate } from '../tokenizer/chat-template.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { readFlagFile } from './cli-files.js';

/**
 * The prompt as one user message in a chat template: the file's (`--chat-template`), else the
 * model's own; a model with neither is refused with what to pass, never silently sent plain.
 */
export function chatPrompt(tokenizer: Tokenizer, prompt: string, templateFile?: string): string {
  const messages = [{ role: 'user', content: prompt }];
  if (templateFile !== undefined) {
    const text = (id: number | undefined) => (id === undefined ? undefined : tokenizer.decode([id], { keepSpecial: true }));
    const template = new ChatTemplate(readFlagFile('chat-template', templateFile), { bos_token: text(tokenizer.bosId), eos_token: text(tokenizer.eosIds[0]) }, templateFile);
    return template.render(messages, { addGenerationPrompt: true });
  }
  if (!tokenizer.applyChatTemplate)
    throw new Error('--chat: this model has no chat template; pass one with --chat-template FILE (a Jinja template), or leave out --chat to send the prompt as plain text');
  return tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
}
