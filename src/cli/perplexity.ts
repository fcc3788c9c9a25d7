import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { perplexity } from '../eval/perplexity.js';
import { addModelOptions, numberFlag, openModel, type ModelFlags } from './model-options.js';
import { readFlagFile } from './cli-files.js';

interface PerplexityFlags extends ModelFlags {
  text: string;
  window?: number;
  stride?: number;
}

export function register(program: Command): void {
  addModelOptions(program.command('perplexity').description('sliding-window perplexity of a text file; the last line printed is `perplexity: X`'))
    .requiredOption('--text <file>', 'UTF-8 text to score')
    .option('--window <n>', "tokens per window (default: the model's context, at most 512)", numberFlag('window'))
    .option('--stride <n>', 'tokens each window advances (default: window / 2)', numberFlag('stride'))
    .action(async (flags: PerplexityFlags) => {
      const text = readFlagFile('text', flags.text);
      const { model, tokenizer } = await openModel(flags);
      const ids = tokenizer.encode(text);
      const bar = new SingleBar({ format: 'perplexity [{bar}] {value}/{total} tokens | {duration}s', stream: process.stderr, clearOnComplete: true });
      bar.start(Math.max(0, ids.length - 1), 0);
      const res = perplexity(model, ids, { window: flags.window, stride: flags.stride, onWindow: (scored) => bar.update(scored) });
      bar.stop();
      console.log(`tokens: ${ids.length} (${res.tokens} scored)`);
      console.log(`nll: ${res.nll.toFixed(6)} nats/token`);
      console.log(`perplexity: ${res.perplexity.toFixed(4)}`);
    });
}
