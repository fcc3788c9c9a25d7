import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { DATASET_KINDS, loadDatasetTask } from '../eval/datasets/load-dataset-task.js';
import { runStudy } from '../eval/runner.js';
import type { Setting } from '../eval/result.js';
import { defaultStudy, parsePressSpec, parseShard } from '../eval/study-options.js';
import { extraTasks, syntheticSuite, taskByName } from '../eval/tasks/registry.js';
import { metaPath, writeReport } from '../eval/report/write-report.js';
import { defaultModelPath } from '../model/default-model.js';
import { addModelOptions, openModel, type ModelFlags } from './model-options.js';
import { makeDirFor } from './cli-files.js';

interface EvalFlags extends ModelFlags {
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
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const numbers = (name: string, s: string) =>
  list(s).map((x) => {
    const v = Number(x);
    if (!Number.isFinite(v)) throw new Error(`--${name}: '${x}' is not a number`);
    return v;
  });

export function register(program: Command): void {
  addModelOptions(program.command('eval').description('the study: abilities × presses × compression ratios × shots → JSONL + HTML report'))
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
      const modelPath = flags.model ?? defaultModelPath();
      const { model, tokenizer } = await openModel({ ...flags, model: modelPath });
      const out = resolve(flags.out);
      makeDirFor('out', out);
      const opts = {
        modelName: basename(modelPath),
        tasks,
        presses,
        ratios,
        sweeps: { fastgen: thresholds },
        shots: numbers('shots', flags.shots),
        n,
        seed: Number(flags.seed),
        settings,
        decodeRatio: Number(flags.decodeRatio),
        out,
        shard,
      };
      let stop = false;
      const onSigint = () => {
        if (stop) process.exit(130);
        stop = true;
        console.error('\ninterrupted: finishing the current result, then writing the report (Ctrl-C again to quit now)');
      };
      process.on('SIGINT', onSigint);
      const bar = new SingleBar({ format: 'study [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {label}', hideCursor: true }, Presets.shades_classic);
      bar.start(1, 0, { label: '' });
      const t0 = performance.now();
      const totals = await runStudy(model, tokenizer, opts, {
        onProgress: (p) => {
          bar.setTotal(p.total);
          bar.update(p.done, { label: p.label });
        },
        shouldStop: () => stop,
      });
      bar.stop();
      process.off('SIGINT', onSigint);
      const seconds = (performance.now() - t0) / 1000;
      const speedup = totals.reprefillMs > 0 ? (totals.reprefillMs + totals.pressMs) / (totals.prefillMs + totals.pressMs) : 1;
      const card = join(modelPath, 'README.md');
      writeFileSync(
        metaPath(out),
        JSON.stringify({
          title: `kvtrim study — ${opts.modelName}`,
          settings: {
            model: modelPath,
            tasks: tasks.map((t) => `${t.name} (${t.ability})`).join(', '),
            presses: flags.presses,
            'ratios (removed)': ratios.join(', '),
            'FastGen thresholds τ': thresholds.join(', '),
            shots: opts.shots.join(', '),
            'examples per task × shots': n,
            seed: opts.seed,
            settings: settings.join(', '),
            'decode ratio': opts.decodeRatio,
            ...(shard ? { shard: `${shard.index}/${shard.count} (${totals.units} units)` } : {}),
            'new results this run': totals.records,
            'resumed (already done)': totals.skipped,
            'wall time this run (s)': seconds.toFixed(1),
            'one prefill, many presses: prefill time saved': `${speedup.toFixed(2)}× (prefill ${(totals.prefillMs / 1000).toFixed(1)} s + press ${(totals.pressMs / 1000).toFixed(1)} s vs re-prefilling ${(totals.reprefillMs / 1000).toFixed(1)} s)`,
          },
          modelCard: existsSync(card) ? readFileSync(card, 'utf8') : undefined,
          fitNotes: totals.fitNotes,
        }),
      );
      const report = writeReport(out);
      console.log(`${totals.records} results written to ${out} (${totals.skipped} resumed) in ${seconds.toFixed(1)} s; prefill reuse ${speedup.toFixed(2)}×`);
      console.log(`report: ${report}`);
      if (totals.stopped) process.exitCode = 130;
    });
}
