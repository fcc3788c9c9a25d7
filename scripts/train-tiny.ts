/**
 * Development tool: trains kvtrim-tiny (models/kvtrim-tiny/) on the synthetic task generators with
 * TensorFlow.js (WebAssembly backend). Resumable: rerun the same command to continue from --dir.
 *   nohup nice -n 5 npx tsx scripts/train-tiny.ts > .cache/train-tiny/log.txt 2>&1 &
 */
import { Command } from 'commander';
import { DRILL_NAMES, drillShares, shareKey, type DrillName } from './train-tiny/drills.js';
import { train, useWasmBackend } from './train-tiny/train.js';
import { taskMix } from './train-tiny/training-data.js';

const program = new Command('train-tiny')
  .description('train the embedded kvtrim-tiny model on the synthetic task suite')
  .option('--dim <n>', 'model width', '160')
  .option('--hidden <n>', 'SwiGLU width', '432')
  .option('--layers <n>', 'layers', '4')
  .option('--heads <n>', 'attention heads', '4')
  .option('--kv-heads <n>', 'KV heads', '2')
  .option('--seq <n>', 'training row length = context length', '1152')
  .option('--batch <n>', 'rows per step', '2')
  .option('--steps <n>', 'total steps (the cosine schedule spans them)', '8500')
  .option('--lr <x>', 'peak learning rate', '2e-3')
  .option('--warmup <n>', 'warm-up steps', '100')
  .option('--schedule-from <n>', 'step where the warm-up and cosine start: a warm restart of a resumed run', '0')
  .option('--seed <n>', 'run seed (initialisation and data)', '1')
  .option('--lookup-max-lines <n>', 'key lines per lookup drill document: 2 to n (0 = up to 900 characters)', '0')
  .option('--option-short-share <p>', "probability that an option-drill answer line is the short form 'word:' (a curriculum for the letter lookup)", '0')
  .option('--option-task-share <p>', "probability that an option-drill document is in the commonsense task's Q/A form (the letter read from the last of several lists)", '0')
  .option('--option-short-words <n>', "a short line keeps 0 to n of the property's words ('word can:'), so the word travels further to the letter", '0')
  .option('--shot-answer-weight <x>', 'loss weight of the worked answers inside few-shot prompts (the rest of a prompt weighs 0.3)', '1')
  .option('--mix <spec>', 'reweight tasks in the data mix, e.g. code=3,safety=2 (unlisted tasks: knowledge, commonsense, safety 1; arithmetic, code 1.6; retrieval, long-generation 0.8)', 'code=3,commonsense=2,safety=2,retrieval=2,knowledge=0.5,arithmetic=1.2,long-generation=0.5')
  .option('--grow-from <dir>', 'start a new run (in --dir) from a saved one grown to --layers / --kv-heads, keeping what it learned')
  .option('--from-model <dir>', 'start a new run (in --dir) from an exported model and its training-run.json: the run continues, its AdamW moments start afresh')
  .option('--dir <path>', 'run directory (resumable state)', '.cache/train-tiny')
  .option('--export <path>', "export directory ('' for none)", 'models/kvtrim-tiny')
  .option('--checkpoint-every <n>', 'steps between checkpoints', '25')
  .option('--eval-every <n>', 'steps between held-out evaluations and exports (0 = at the end only)', '300')
  .option('--eval-n <n>', 'held-out examples per ability', '20')
  .option('--stop-after <n>', 'stop after this many steps in this process (0 = run to --steps)', '0')
  .option('--export-only', 'evaluate and export the saved state, then exit (safe beside a running trainer)');
/** Each drill's default weight in the data mix (the seven tasks weigh 11.2 together under the default --mix) and what it is. */
const DRILL_HELP: Record<DrillName, [share: string, what: string]> = {
  copy: ['1.5', 'copying drill'],
  lookup: ['1.5', 'key-value lookup drill (several questions per document)'],
  sum: ['0.5', 'chained-arithmetic drill'],
  needle: ['2', 'short-retrieval drill (the retrieval task at 64–256 characters)'],
  option: ['1.5', 'option-letter drill (commonsense options, the word given, the letter graded)'],
  rule: ['1.5', 'rule-check drill (safety rules, then many graded questions)'],
  pick: ['0', 'option-pick drill (commonsense questions answered by the letter alone)'],
};
for (const name of DRILL_NAMES) program.option(`--${name}-share <x>`, `weight of the ${DRILL_HELP[name][1]} in the data mix`, DRILL_HELP[name][0]);
program.parse();
const o = program.opts<Record<string, string | undefined>>();
/** The command-line flag of an option key (`lookupMaxLines` → `--lookup-max-lines`), for error messages. */
const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
const int = (k: string) => {
  const v = Number(o[k]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${flag(k)}: expected a non-negative integer, got ${o[k]}`);
  return v;
};
const share = (k: string) => {
  const v = Number(o[k]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${flag(k)}: expected a non-negative number, got ${o[k]}`);
  return v;
};
const probability = (k: string) => {
  const v = share(k);
  if (v > 1) throw new Error(`${flag(k)}: expected a probability (0 to 1), got ${o[k]}`);
  return v;
};

taskMix(o.mix!); // a bad spec fails before the backend starts
await useWasmBackend();
await train({
  dim: int('dim'),
  hidden: int('hidden'),
  layers: int('layers'),
  heads: int('heads'),
  kvHeads: int('kvHeads'),
  seq: int('seq'),
  batch: int('batch'),
  steps: int('steps'),
  lr: Number(o.lr),
  warmup: int('warmup'),
  scheduleFrom: int('scheduleFrom'),
  seed: int('seed'),
  ...drillShares((name) => share(shareKey(name))),
  lookupMaxLines: int('lookupMaxLines'),
  optionShortShare: probability('optionShortShare'),
  optionShortWords: int('optionShortWords'),
  optionTaskShare: probability('optionTaskShare'),
  shotAnswerWeight: share('shotAnswerWeight'),
  mix: o.mix!,
  growFrom: o.growFrom,
  fromModel: o.fromModel,
  dir: o.dir!,
  exportDir: o.export!,
  checkpointEvery: Math.max(1, int('checkpointEvery')),
  evalEvery: int('evalEvery'),
  evalN: int('evalN'),
  stopAfter: int('stopAfter'),
  exportOnly: o.exportOnly !== undefined,
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});
