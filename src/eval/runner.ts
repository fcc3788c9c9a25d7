import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
import { appendResult, FULL_CACHE, paramsKey, readResults, recordKey, type ResultRecord } from './result.js';
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
    const recorder = new Session(model, tokenizer);
    const rec = recorder.record(promptOf({ segments: context }), context);
    const ranges = [...recorder.segments];
    recorder.free();
    totals.prefillMs += rec.prefillMs;
    totals.reprefillMs += rec.prefillMs * todo.length;
    try {
      const full = await runCombo(model, tokenizer, rec, context, question, u.example, undefined, opts.decodeRatio);
      for (const c of todo) {
        if (hooks.shouldStop?.()) {
          totals.stopped = true;
          return totals;
        }
        hooks.onProgress?.({ done: progressed, total, label: `${u.task.name} ${u.setting} ${c.press}${paramsLabel(c.params)}@${c.ratio ?? '·'} shots=${u.shots} #${u.index}` });
        const isFull = c === baseline;
        const run = isFull ? full : await runCombo(model, tokenizer, rec, context, question, u.example, c, opts.decodeRatio);
        const fid = isFull ? { kl: 0, top1: 1 } : fidelity(model, tokenizer, rec, context, question, c, opts.decodeRatio, full);
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

const paramsLabel = (p: Record<string, ParamValue>) => (Object.keys(p).length ? `(${paramsKey(p)})` : '');

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
  decodeMs: number;
  /** Teacher-forced logits along the full-cache answer (full-cache run only). */
  logits?: Float32Array[];
}

/** Share of the entries the full cache would hold that `cache` holds now. */
function keptShare(model: Model, cache: Session['cache']): number {
  const { nLayers, nKvHeads } = model.config;
  return cache.entries() / (nLayers * nKvHeads * cache.seen);
}

/**
 * A session holding the recorded context, compressed by `combo` (none: the full cache), with the
 * question prefilled on top in the question-agnostic setting. Returns the logits of the first answer
 * token and the share of the compressed prefill's entries kept, measured right after it.
 */
function openSession(model: Model, tokenizer: Tokenizer, rec: PrefillRecord, context: Segments, question: Question, combo: Combo | undefined, decodeRatio: number) {
  const compression = combo && {
    press: createPress(combo.press, combo.params, { model, tokenizer, readText: (path) => readFileSync(path, 'utf8') }),
    ratio: combo.ratio ?? SWITCH_ON_RATIO,
    ...(decodeRatio > 0 ? { decodePress: combo.press, decodeRatio } : {}),
  };
  const session = new Session(model, tokenizer, { compression });
  const t0 = performance.now();
  let logits = session.prefill(promptOf({ segments: context }), { segments: context, from: rec });
  const pressMs = performance.now() - t0;
  const prefillKept = keptShare(model, session.cache);
  if (question) logits = session.prefill(question.text, { segments: [question], compress: false });
  return { session, logits, pressMs, prefillKept };
}

/** Greedy answer of one combo — or of the full cache, whose teacher-forced logits are kept for fidelity. */
async function runCombo(model: Model, tokenizer: Tokenizer, rec: PrefillRecord, context: Segments, question: Question, example: Example, combo: Combo | undefined, decodeRatio: number): Promise<ComboRun> {
  const { session, pressMs, prefillKept } = openSession(model, tokenizer, rec, context, question, combo, decodeRatio);
  const promptTokens = session.cache.seen;
  const kvBytes = session.cache.bytes();
  const kvBytesFull = session.cache.fullBytes();
  const ids: number[] = [];
  let text = '';
  const t0 = performance.now();
  for await (const t of session.generate({ maxTokens: example.maxNewTokens, stop: example.stop })) {
    if (t.id >= 0) ids.push(t.id);
    text += t.text;
  }
  const run: ComboRun = { text, ids, promptTokens, prefillKept, finalKept: keptShare(model, session.cache), kvBytes, kvBytesFull, pressMs, decodeMs: performance.now() - t0 };
  session.free();
  if (!combo) run.logits = teacherForced(model, tokenizer, rec, context, question, undefined, decodeRatio, ids);
  return run;
}

/** Logits predicting each token of `ids` when the answer so far is forced to `ids`. */
function teacherForced(model: Model, tokenizer: Tokenizer, rec: PrefillRecord, context: Segments, question: Question, combo: Combo | undefined, decodeRatio: number, ids: number[]): Float32Array[] {
  const { session, logits } = openSession(model, tokenizer, rec, context, question, combo, decodeRatio);
  const out = [logits];
  for (let t = 0; t + 1 < ids.length && session.cache.seen < model.config.maxSeqLen; t++) out.push(session.step(ids[t]!));
  session.free();
  return out;
}

/** Mean next-token KL(full ‖ compressed) and top-1 agreement along the full-cache answer. */
function fidelity(model: Model, tokenizer: Tokenizer, rec: PrefillRecord, context: Segments, question: Question, combo: Combo, decodeRatio: number, full: ComboRun): { kl: number; top1: number } {
  const ref = full.logits!;
  const mine = teacherForced(model, tokenizer, rec, context, question, combo, decodeRatio, full.ids);
  let kl = 0;
  let agree = 0;
  for (let t = 0; t < mine.length; t++) {
    kl += klDivergence(ref[t]!, mine[t]!);
    if (argmax(ref[t]!) === argmax(mine[t]!)) agree++;
  }
  return { kl: kl / mine.length, top1: agree / mine.length };
}
