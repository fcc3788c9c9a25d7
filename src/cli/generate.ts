import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Session } from '../generate/session.js';
import { splitShots } from '../press/split-shots.js';
import { chatPrompt } from './chat-prompt.js';
import { compressionNotes } from './compression-notes.js';
import { addModelOptions, countFlag, numberFlag, openModel, type ModelFlags } from './model-options.js';
import { addPressOptions, kvQuantOption, pressOptions, type PressFlags } from './press-options.js';

interface GenerateFlags extends ModelFlags, PressFlags {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  chat?: boolean;
  chatTemplate?: string;
  stop?: string[];
  shotSeparator?: string;
}

export function register(program: Command): void {
  addPressOptions(addModelOptions(program.command('generate').description('generate text from a prompt, streaming tokens')))
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--max-tokens <n>', 'maximum new tokens', countFlag('max-tokens', 1), 128)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', numberFlag('temperature'), 0)
    .option('--top-p <p>', 'nucleus sampling threshold', numberFlag('top-p'), 1)
    .option('--top-k <k>', 'keep only the k most likely tokens (0 = off)', countFlag('top-k', 0), 0)
    .option('--seed <s>', 'sampling seed', numberFlag('seed'), 0)
    .option('--stop <text...>', 'stop strings')
    .option('--chat', "wrap the prompt as a user message in the model's chat template")
    .option('--chat-template <file>', "with --chat: a Jinja chat template file to use instead of the model's (for a model without one)")
    .option('--shot-separator <sep>', 'split the prompt into few-shot examples at SEP (\\n, \\t escapes; last block = question); default a blank line with shot-level presses')
    .action(async (flags: GenerateFlags) => {
      const { model, tokenizer } = await openModel(flags);
      if (flags.chatTemplate !== undefined && !flags.chat) throw new Error('--chat-template needs --chat');
      const prompt = flags.chat ? chatPrompt(tokenizer, flags.prompt, flags.chatTemplate) : flags.prompt;
      const compression = pressOptions(flags, { model, tokenizer, readText: (path) => readFileSync(path, 'utf8') });
      const kvQuant = kvQuantOption(flags);
      const session = new Session(model, tokenizer, { kvQuant, compression });
      const sep = flags.shotSeparator ?? (compression.press?.usesShots ? '\n\n' : undefined);
      const segments = sep === undefined ? undefined : splitShots(prompt, sep.replace(/\\n/g, '\n').replace(/\\t/g, '\t'));
      session.prefill(prompt, { segments });
      for (const note of compressionNotes({ press: compression.press, ratio: flags.ratio, segments: session.segments, kvQuant, cache: session.cache }))
        console.error(`note: ${note}`);
      for await (const t of session.generate({
        maxTokens: flags.maxTokens,
        temperature: flags.temperature,
        topP: flags.topP,
        topK: flags.topK,
        seed: flags.seed,
        stop: flags.stop,
      }))
        process.stdout.write(t.text);
      process.stdout.write('\n');
      if (session.finish === 'context') console.error(`note: generation stopped at the end of the model's context (${model.config.maxSeqLen} positions)`);
      const s = session.stats;
      const rate = (n: number, ms: number) => (ms > 0 ? ((n * 1000) / ms).toFixed(1) : '-');
      console.error(
        `tokens: ${s.promptTokens} prompt + ${s.generatedTokens} generated | prefill ${rate(s.promptTokens, s.prefillMs)} tok/s | ` +
          `decode ${rate(s.generatedTokens, s.decodeMs)} tok/s | KV bytes ${session.cache.bytes()} kept of ${session.cache.fullBytes()} full ` +
          `(${((100 * session.cache.bytes()) / Math.max(1, session.cache.fullBytes())).toFixed(1)}%)`,
      );
    });
}
