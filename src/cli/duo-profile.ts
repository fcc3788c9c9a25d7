import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { duoAttentionDefaults, greedyText } from '../press/duo-attention.js';
import { profileDuoGates } from '../press/duo-gates.js';
import { makeDirFor, readFlagFile } from './cli-files.js';
import { addModelOptions, countFlag, openModel, type ModelFlags } from './model-options.js';

interface DuoProfileFlags extends ModelFlags {
  text?: string;
  tokens: number;
  sinks: number;
  recent: number;
  out: string;
}

export function register(program: Command): void {
  addModelOptions(program.command('duo-profile').description("measure DuoAttention's head gates (KL when each head streams) and write them as JSON for --press duo-attention --press-param gates=FILE"))
    .option('--text <file>', "calibration text (default: the model's own greedy continuation of BOS)")
    .option('--tokens <n>', 'calibration tokens used', countFlag('tokens', 2), duoAttentionDefaults.calibration)
    .option('--sinks <n>', 'initial entries a streaming head keeps', countFlag('sinks', 0), duoAttentionDefaults.sinks)
    .option('--recent <n>', 'recent entries a streaming head keeps', countFlag('recent', 1), duoAttentionDefaults.recent)
    .option('--out <file>', 'gates file to write', 'duo-gates.json')
    .action(async (flags: DuoProfileFlags) => {
      const { model, tokenizer } = await openModel(flags);
      const n = Math.min(flags.tokens, model.config.maxSeqLen);
      const ids = flags.text === undefined ? greedyText(model, n) : tokenizer.encode(readFlagFile('text', flags.text)).slice(0, n);
      const t0 = performance.now();
      const gates = profileDuoGates(model, ids, { sinks: flags.sinks, recent: flags.recent });
      makeDirFor('out', flags.out);
      writeFileSync(flags.out, JSON.stringify(gates, null, 1) + '\n');
      const flat = gates.gates.flat();
      console.log(`${flat.length} KV heads profiled on ${ids.length} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s; gates ${Math.min(...flat).toExponential(2)} … ${Math.max(...flat).toExponential(2)}; written to ${flags.out}`);
    });
}
