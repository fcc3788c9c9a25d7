import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BatchScheduler } from '../generate/batch-scheduler.js';
import { Session } from '../generate/session.js';
import type { PrefillRecord } from '../generate/prefill-record.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { argmax } from '../generate/sampler.js';
import { klDivergence } from '../kernels/kl-divergence.js';
import { createPress } from '../press/registry.js';
import type { ParamValue } from '../press/registry-entry.js';
import { promptAttention } from './prompt-attention.js';
import { fitExample } from './prompt-fit.js';
import { appendResult, FULL_CACHE, readResults, recordKey, type ResultRecord } from './result.js';
import { PARAMETER_DRIVEN, shotsFor, type StudyOptions } from './study-options.js';
import { promptOf, type Example } from './tasks/task.js';

export interface StudyProgress {
  done: number;
  total: number;
  label: string;
}

/** Examples of one task × shot count that were shortened or skipped to fit the model's context. */
export interface FitNote {
  task: string;
  shots: number;
  /** How they were shortened ("2 of 4 shots"), or why they were skipped. */
  note: string;
  skipped: boolean;
  examples: number;
}

export interface StudyTotals {
  records: number;
  skipped: number;
  /** Prefill time actually spent (one prefill per example and setting). */
  prefillMs: number;
  /** Prefill time re-prefilling for every press × ratio would have cost (measured prefill × combinations). */
  reprefillMs: number;
  pressMs: number;
  decodeMs: number;
  /**
   * The first unit's answers decoded both ways (all its presses together, and one after another),
   * wall ms each: the batched decode's measured speed-up. Its outputs must be equal, or the run fails.
   */
  batchCheck?: { batchedMs: number; sequentialMs: number; sequences: number };
  /** Units (example × setting) this run's shard holds. */
  units: number;
  fitNotes: FitNote[];
  stopped: boolean;
}

/** One compressed setting of the grid: a press with its parameters at a ratio (null: its memory comes from its parameter). */
interface Combo {
  press: string;
  params: Record<string, ParamValue>;
  ratio: number | null;
}

/** A parameter-driven press only needs some ratio to be switched on (methods.md §12); what it keeps comes from its parameter. */
const SWITCH_ON_RATIO = 0.5;

/** The grid's compressed combos: ratio-driven presses at every ratio above 0, parameter-driven ones at every swept value. */
export function studyCombos(opts: Pick<StudyOptions, 'presses' | 'ratios' | 'sweeps'>): Combo[] {
  return opts.presses.flatMap(({ press, params }): Combo[] => {
    const param = PARAMETER_DRIVEN[press];
    if (param) return (opts.sweeps[press] ?? []).map((v) => ({ press, params: { ...params, [param]: v }, ratio: null }));
    return opts.ratios.filter((r) => r > 0).map((ratio) => ({ press, params, ratio }));
  });
}

/**
 * Runs methods × ratios × shots × examples × settings, appending one JSONL line per result and
 * skipping lines already present (resume). Each example is prefilled once per setting; every
 * press's compressed cache is derived from that one prefill, and the full-cache baseline is one
 * more line. A prompt too long for the model is shortened or skipped (`fitNotes`), never fatal.
 */
export async function runStudy(
  model: Model,
  tokenizer: Tokenizer,
  opts: StudyOptions,
  hooks: { onProgress?(p: StudyProgress): void; shouldStop?(): boolean } = {},
): Promise<StudyTotals> {
  const done = new Set(loadForResume(opts.out).map(recordKey));
  const baseline: Combo = { press: FULL_CACHE, params: {}, ratio: 0 };
  const combos = [baseline, ...studyCombos(opts)];
  const fitNotes = new Map<string, FitNote>();
  const units = opts.tasks.flatMap((task) =>
    shotsFor(task, opts.shots).flatMap((asked) => {
      const drawn = task.examples(opts.seed, opts.n, { shots: asked });
      const fitted = drawn.flatMap((e, index) => {
        const f = fitExample(e, (length) => task.examples(opts.seed, opts.n, { shots: asked, length })[index]!, tokenizer, model.config.maxSeqLen);
        const note = 'skipped' in f ? f.skipped : f.fit;
        if (note) {
          const k = JSON.stringify([task.name, asked, note]);
          const n = fitNotes.get(k) ?? { task: task.name, shots: asked, note, skipped: 'skipped' in f, examples: 0 };
          fitNotes.set(k, { ...n, examples: n.examples + 1 });
        }
        return 'skipped' in f ? [] : [{ ...f, index }];
      });
      // the question-agnostic setting needs a context before the question
      return opts.settings.flatMap((setting) =>
        fitted.flatMap((f) => (setting === 'question-agnostic' && f.example.segments.length < 2 ? [] : [{ task, ...f, setting }])),
      );
    }),
  );
  const mine = opts.shard ? units.filter((_, i) => i % opts.shard!.count === opts.shard!.index) : units;
  const totals: StudyTotals = { records: 0, skipped: 0, prefillMs: 0, reprefillMs: 0, pressMs: 0, decodeMs: 0, units: mine.length, fitNotes: [...fitNotes.values()], stopped: false };
  const total = mine.length * combos.length;
  let progressed = 0;
  for (const u of mine) {
    const base = { model: opts.modelName, task: u.task.name, setting: u.setting, decode_ratio: opts.decodeRatio, shots: u.shots, example: u.index };
    const todo = combos.filter((c) => !done.has(recordKey({ ...base, press: c.press, press_params: c.params, ratio: c.ratio })));
    totals.skipped += combos.length - todo.length;
    progressed += combos.length - todo.length;
    if (!todo.length) continue;
    const context = u.setting === 'question-aware' ? u.example.segments : u.example.segments.slice(0, -1);
    const question = u.setting === 'question-aware' ? undefined : u.example.segments.at(-1)!;
    if (hooks.shouldStop?.()) {
      totals.stopped = true;
      return totals;
    }
    hooks.onProgress?.({ done: progressed, total, label: `${u.task.name} ${u.setting} shots=${u.shots} #${u.index}: ${todo.length} presses × ratios together` });
    const recorder = new Session(model, tokenizer);
    const rec = recorder.record(promptOf({ segments: context }), context);
    const ranges = [...recorder.segments];
    recorder.free();
    totals.prefillMs += rec.prefillMs;
    totals.reprefillMs += rec.prefillMs * todo.length;
    try {
      const unit: Unit = { model, tokenizer, rec, context, question, decodeRatio: opts.decodeRatio, batched: opts.batched ?? true };
      const compressed = todo.filter((c) => c !== baseline);
      const answers = await answer(unit, [undefined, ...compressed], u.example, unit.batched);
      if (!totals.batchCheck && unit.batched) totals.batchCheck = await checkBatched(unit, [undefined, ...compressed], u.example, answers);
      const full = answers.runs[0]!;
      const fidelities = await fidelity(unit, compressed, full);
      for (const c of todo) {
        const isFull = c === baseline;
        const run = isFull ? full : answers.runs[compressed.indexOf(c) + 1]!;
        const fid = isFull ? { kl: 0, top1: 1 } : fidelities[compressed.indexOf(c)]!;
        const r: ResultRecord = {
          ...base,
          press: c.press,
          press_params: c.params,
          ratio: c.ratio,
          ...(u.fit ? { fit: u.fit } : {}),
          ability: u.task.ability,
          output: run.text,
          score: u.task.score(u.example, run.text),
          ...(u.task.expectsRefusal ? { refusal_expected: u.task.expectsRefusal(u.example) } : {}),
          ...(isFull && !question ? { attention: promptAttention(model, rec, ranges) } : {}),
          prefill_kept: run.prefillKept,
          final_kept: run.finalKept,
          kv_bytes: run.kvBytes,
          kv_bytes_full: run.kvBytesFull,
          ...fid,
          prompt_tokens: run.promptTokens,
          prefill_ms: rec.prefillMs,
          press_ms: run.pressMs,
          decode_ms: run.decodeMs,
        };
        appendResult(opts.out, r);
        totals.records++;
        totals.pressMs += run.pressMs;
        totals.decodeMs += run.decodeMs;
        progressed++;
      }
    } finally {
      rec.cache.free(); // the recorded prefill is only needed for this unit
    }
  }
  hooks.onProgress?.({ done: progressed, total, label: 'done' });
  return totals;
}

/** Reads earlier results, first cutting a line a killed run left half-written. */
function loadForResume(file: string): ResultRecord[] {
  const records = readResults(file);
  if (existsSync(file) && !readFileSync(file, 'utf8').endsWith('\n') && records.length)
    writeFileSync(file, records.map((r) => JSON.stringify(r) + '\n').join(''));
  else if (existsSync(file) && !records.length) writeFileSync(file, '');
  return records;
}

type Segments = Example['segments'];
type Question = Segments[number] | undefined;

/** What every combo of one unit (example × setting) shares: the model, the recorded prefill, the prompt's parts. */
interface Unit {
  model: Model;
  tokenizer: Tokenizer;
  rec: PrefillRecord;
  context: Segments;
  question: Question;
  decodeRatio: number;
  batched: boolean;
}

interface ComboRun {
  text: string;
  ids: number[];
  /** Context and question: the tokens in the cache before the first generated one. */
  promptTokens: number;
  prefillKept: number;
  finalKept: number;
  kvBytes: number;
  kvBytesFull: number;
  pressMs: number;
  /** This sequence's share of the batched decode steps' time. */
  decodeMs: number;
}

/**
 * A session holding the recorded context, compressed by `combo` (none: the full cache), with the
 * question prefilled on top in the question-agnostic setting. Returns the share of the compressed
 * prefill's entries kept, measured right after it.
 */
function openSession({ model, tokenizer, rec, context, question, decodeRatio }: Unit, combo: Combo | undefined) {
  const compression = combo && {
    press: createPress(combo.press, combo.params, { model, tokenizer, readText: (path) => readFileSync(path, 'utf8') }),
    ratio: combo.ratio ?? SWITCH_ON_RATIO,
    ...(decodeRatio > 0 ? { decodePress: combo.press, decodeRatio } : {}),
  };
  const session = new Session(model, tokenizer, { compression });
  const t0 = performance.now();
  session.prefill(promptOf({ segments: context }), { segments: context, from: rec });
  const pressMs = performance.now() - t0;
  const prefillKept = session.cache.keptShare();
  if (question) session.prefill(question.text, { segments: [question], compress: false });
  return { session, pressMs, prefillKept };
}

/**
 * The greedy answers of `combos` (undefined: the full cache), decoded together: one step of the
 * batch scheduler runs a token of each (one pass over the weights), and each gets the tokens it
 * would get alone. `batched` false decodes them one after another (the speed-up's reference).
 */
async function answer(unit: Unit, combos: (Combo | undefined)[], example: Example, batched = true): Promise<{ runs: ComboRun[]; wallMs: number }> {
  const opened = combos.map((c) => openSession(unit, c));
  const outs = opened.map(({ session }) => ({ ids: [] as number[], text: '', promptTokens: session.cache.seen, kvBytes: session.cache.bytes(), kvBytesFull: session.cache.fullBytes() }));
  const scheduler = new BatchScheduler(unit.model);
  const decode = (i: number) =>
    scheduler.submit({
      session: opened[i]!.session,
      generate: { maxTokens: example.maxNewTokens, stop: example.stop },
      onToken: (t) => {
        if (t.id >= 0) outs[i]!.ids.push(t.id);
        outs[i]!.text += t.text;
      },
    });
  const t0 = performance.now();
  if (batched) await Promise.all(opened.map((_, i) => decode(i)));
  else for (let i = 0; i < opened.length; i++) await decode(i);
  const wallMs = performance.now() - t0;
  const runs = opened.map(({ session, pressMs, prefillKept }, i) => {
    const run: ComboRun = { ...outs[i]!, prefillKept, finalKept: session.cache.keptShare(), pressMs, decodeMs: session.stats.decodeMs };
    session.free();
    return run;
  });
  return { runs, wallMs };
}

/** Decodes the unit's answers again one after another: they must be the batched ones exactly; returns both wall times. */
async function checkBatched(unit: Unit, combos: (Combo | undefined)[], example: Example, batched: { runs: ComboRun[]; wallMs: number }): Promise<NonNullable<StudyTotals['batchCheck']>> {
  const sequential = await answer(unit, combos, example, false);
  sequential.runs.forEach((r, i) => {
    const b = batched.runs[i]!;
    if (r.text !== b.text || r.ids.join() !== b.ids.join() || r.kvBytes !== b.kvBytes || r.finalKept !== b.finalKept)
      throw new Error(`batched decoding gave another answer than decoding alone for ${combos[i] ? combos[i]!.press : 'the full cache'}: ${JSON.stringify(b.text)} vs ${JSON.stringify(r.text)}`);
  });
  return { batchedMs: batched.wallMs, sequentialMs: sequential.wallMs, sequences: combos.length };
}

/**
 * Mean next-token KL(full ‖ compressed) and top-1 agreement along the full-cache answer, per combo:
 * every combo and the full cache are teacher-forced along it together.
 */
async function fidelity(unit: Unit, combos: Combo[], full: ComboRun): Promise<{ kl: number; top1: number }[]> {
  if (combos.length === 0) return [];
  const all = [undefined, ...combos];
  const logits: Float32Array[][] = all.map(() => []);
  const scheduler = new BatchScheduler(unit.model);
  const force = (c: Combo | undefined, i: number) => {
    const { session } = openSession(unit, c);
    return scheduler.submit({ session, generate: { forced: full.ids }, onLogits: (l) => logits[i]!.push(l) }).finally(() => session.free());
  };
  if (unit.batched) await Promise.all(all.map(force));
  else for (const [i, c] of all.entries()) await force(c, i);
  const ref = logits[0]!;
  return logits.slice(1).map((mine) => {
    let kl = 0;
    let agree = 0;
    for (let t = 0; t < mine.length; t++) {
      kl += klDivergence(ref[t]!, mine[t]!);
      if (argmax(ref[t]!) === argmax(mine[t]!)) agree++;
    }
    return { kl: kl / mine.length, top1: agree / mine.length };
  });
}
