import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { DATASET_KINDS, loadDatasetTask } from '../eval/datasets/load-dataset-task.js';
import { runStudy, type StudyTotals } from '../eval/runner.js';
import type { ModelMeta, ReportMeta } from '../eval/report/html-report.js';
import { summarizeCheckpoint } from '../formats/checkpoint-summary.js';
import type { Setting } from '../eval/result.js';
import { defaultStudy, parsePressSpec, parseShard } from '../eval/study-options.js';
import { extraTasks, syntheticSuite, taskByName } from '../eval/tasks/registry.js';
import { metaPath, writeReport } from '../eval/report/write-report.js';
import { defaultModelPath } from '../model/default-model.js';
import { addModelOptions, openModel, type ModelFlags } from './model-options.js';
import { makeDirFor } from './cli-files.js';

interface EvalFlags extends Omit<ModelFlags, 'model'> {
  model?: string[];
  tasks?: string;
  presses: string;
  ratios: string;
  shots: string;
  n: string;
  seed: string;
  settings: string;
  decodeRatio: string;
  fastgenThresholds: string;
  shard?: string;
  out: string;
  allowExec?: boolean;
  batch: boolean;
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const numbers = (name: string, s: string) =>
  list(s).map((x) => {
    const v = Number(x);
    if (!Number.isFinite(v)) throw new Error(`--${name}: '${x}' is not a number`);
    return v;
  });

export function register(program: Command): void {
  const command = addModelOptions(program.command('eval').description('the study: models × abilities × presses × compression ratios × shots → JSONL + HTML report'));
  // Here --model may be given several times: one run over every model, one results file.
  command.options.find((o) => o.long === '--model')!.argParser((path: string, earlier?: string[]) => [...(earlier ?? []), path]);
  command
    .option('--tasks <list>', `comma-separated tasks: synthetic (default: all of ${syntheticSuite.map((t) => t.name).join(', ')}; also ${extraTasks.map((t) => t.name).join(', ')}) or dataset files as KIND:PATH with KIND one of ${DATASET_KINDS.join(', ')}`)
    .option('--presses <list>', 'presses to compare, each NAME or NAME:param=value[:param=value] (e.g. shotkv:keepProtected=true)', defaultStudy.presses.join(','))
    .option('--ratios <list>', 'fractions of the KV cache removed by the ratio-driven presses (the full-cache baseline always runs)', defaultStudy.ratios.join(','))
    .option('--fastgen-thresholds <list>', "FastGen's recovery thresholds τ (its memory comes from τ, not from the ratio)", defaultStudy.sweeps.fastgen!.join(','))
    .option('--shots <list>', 'numbers of few-shot examples', defaultStudy.shots.join(','))
    .option('--n <n>', 'examples per task and shot count', String(defaultStudy.n))
    .option('--seed <s>', 'example seed', String(defaultStudy.seed))
    .option('--settings <list>', 'question-aware and/or question-agnostic', defaultStudy.settings.join(','))
    .option('--decode-ratio <r>', 'also compress the generated tokens with the same press', String(defaultStudy.decodeRatio))
    .option('--shard <k/N>', 'run only slice k of N (0 ≤ k < N) of the grid, deterministically; merge the shards with kvtrim report')
    .option('--no-batch', "decode an example's presses one after another instead of together (same results; for timing)")
    .option('--allow-exec', 'let HumanEval scoring run model-written Python (python3 subprocess, 10 s per problem)')
    .option('--out <file>', 'results JSONL (resumed if it exists); the report is written beside it', 'study/results.jsonl')
    .action(async (flags: EvalFlags) => {
      const settings = list(flags.settings) as Setting[];
      for (const s of settings) if (s !== 'question-aware' && s !== 'question-agnostic') throw new Error(`--settings: unknown setting '${s}'`);
      const n = Number(flags.n);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--n must be a positive integer, got '${flags.n}'`);
      const ratios = numbers('ratios', flags.ratios);
      for (const r of ratios) if (!(r >= 0 && r < 1)) throw new Error(`--ratios: ${r} is not in [0, 1)`);
      const thresholds = numbers('fastgen-thresholds', flags.fastgenThresholds);
      for (const t of thresholds) if (!(t > 0 && t <= 1)) throw new Error(`--fastgen-thresholds: ${t} is not in (0, 1]`);
      const presses = list(flags.presses).map(parsePressSpec);
      const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
      const tasks = flags.tasks
        ? list(flags.tasks).map((t) => (t.includes(':') ? loadDatasetTask(t, { allowExec: !!flags.allowExec }) : taskByName(t)))
        : [...syntheticSuite];
      const modelPaths = flags.model ?? [defaultModelPath()];
      const names = modelPaths.map((m) => basename(m));
      const twice = names.find((m, i) => names.indexOf(m) !== i);
      if (twice) throw new Error(`--model: two models are named '${twice}' (results are keyed by the model's file name)`);
      const out = resolve(flags.out);
      makeDirFor('out', out);
      const study = { tasks, presses, ratios, sweeps: { fastgen: thresholds }, shots: numbers('shots', flags.shots), n, seed: Number(flags.seed), settings, decodeRatio: Number(flags.decodeRatio), out, shard, batched: flags.batch };
      let stop = false;
      const onSigint = () => {
        if (stop) process.exit(130);
        stop = true;
        console.error('\ninterrupted: finishing the current example, then writing the report (Ctrl-C again to quit now)');
      };
      process.on('SIGINT', onSigint);
      const t0 = performance.now();
      const runs: { totals: StudyTotals; model: ModelMeta }[] = [];
      for (const [i, modelPath] of modelPaths.entries()) {
        if (stop) break;
        const loaded = await openModel({ ...flags, model: modelPath });
        const summary = summarizeCheckpoint(loaded.checkpoint);
        const bar = new SingleBar({ format: `${names[i]} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {label}`, hideCursor: true }, Presets.shades_classic);
        bar.start(1, 0, { label: '' });
        const totals = await runStudy(loaded.model, loaded.tokenizer, { ...study, modelName: names[i]! }, {
          onProgress: (p) => {
            bar.setTotal(p.total);
            bar.update(p.done, { label: p.label });
          },
          shouldStop: () => stop,
        });
        bar.stop();
        const card = join(modelPath, 'README.md');
        runs.push({
          totals,
          model: { name: names[i]!, path: modelPath, weightBytes: summary.weightBytes, kvBytesPerToken: summary.kvBytesPerToken, modelCard: existsSync(card) ? readFileSync(card, 'utf8') : undefined },
        });
      }
      process.off('SIGINT', onSigint);
      const seconds = (performance.now() - t0) / 1000;
      const sum = (f: (t: StudyTotals) => number) => runs.reduce((a, r) => a + f(r.totals), 0);
      const [prefillMs, pressMs, reprefillMs, records, skipped] = [sum((t) => t.prefillMs), sum((t) => t.pressMs), sum((t) => t.reprefillMs), sum((t) => t.records), sum((t) => t.skipped)];
      const speedup = reprefillMs > 0 ? (reprefillMs + pressMs) / (prefillMs + pressMs) : 1;
      writeFileSync(
        metaPath(out),
        JSON.stringify({
          title: `kvtrim study — ${names.join(', ')}`,
          settings: {
            [modelPaths.length > 1 ? 'models' : 'model']: modelPaths.join(', '),
            tasks: tasks.map((t) => `${t.name} (${t.ability})`).join(', '),
            presses: flags.presses,
            'ratios (removed)': ratios.join(', '),
            'FastGen thresholds τ': thresholds.join(', '),
            shots: study.shots.join(', '),
            'examples per task × shots': n,
            seed: study.seed,
            settings: settings.join(', '),
            'decode ratio': study.decodeRatio,
            ...(shard ? { shard: `${shard.index}/${shard.count} (${sum((t) => t.units)} units)` } : {}),
            'new results this run': records,
            'resumed (already done)': skipped,
            'wall time this run (s)': seconds.toFixed(1),
            'batched decoding: measured speed-up': batchSpeedup(runs.map((r) => r.totals.batchCheck)),
            'one prefill, many presses: prefill time saved': `${speedup.toFixed(2)}× (prefill ${(prefillMs / 1000).toFixed(1)} s + press ${(pressMs / 1000).toFixed(1)} s vs re-prefilling ${(reprefillMs / 1000).toFixed(1)} s)`,
          },
          models: runs.map((r) => r.model),
          fitNotes: runs.flatMap((r) => r.totals.fitNotes.map((f) => ({ ...f, model: r.model.name }))),
        } satisfies ReportMeta),
      );
      const report = writeReport(out);
      console.log(`${records} results written to ${out} (${skipped} resumed) in ${seconds.toFixed(1)} s; prefill reuse ${speedup.toFixed(2)}×`);
      console.log(`report: ${report}`);
      if (runs.some((r) => r.totals.stopped) || stop) process.exitCode = 130;
    });
}

/** The report's line for the first example of each model decoded both ways (together, and one after another). */
function batchSpeedup(checks: (StudyTotals['batchCheck'] | undefined)[]): string {
  const done = checks.filter((c) => c !== undefined);
  if (done.length === 0) return 'off (--no-batch)';
  const [b, s, n] = [done.reduce((a, c) => a + c.batchedMs, 0), done.reduce((a, c) => a + c.sequentialMs, 0), done[0]!.sequences];
  return `${(s / b).toFixed(2)}× (first example: ${n} sequences decoded together in ${(b / 1000).toFixed(2)} s vs ${(s / 1000).toFixed(2)} s one after another, same outputs)`;
}
