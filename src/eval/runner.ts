import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from '../generate/session.js';
import type { PrefillRecord } from '../generate/prefill-record.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { argmax } from '../generate/sampler.js';
import { klDivergence } from '../kernels/kl-divergence.js';
import { appendResult, readResults, recordKey, type ResultRecord } from './result.js';
import { shotsFor, type StudyOptions } from './study-options.js';
import { promptOf, type Example } from './tasks/task.js';

export interface StudyProgress {
  done: number;
  total: number;
  label: string;
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
  stopped: boolean;
}

interface Combo {
  press: string;
  ratio: number;
}

/**
 * Runs methods × ratios × shots × examples × settings, appending one JSONL line per result and
 * skipping lines already present (resume). Each example is prefilled once per setting; every
 * press's compressed cache is derived from that one prefill.
 */
export async function runStudy(
  model: Model,
  tokenizer: Tokenizer,
  opts: StudyOptions,
  hooks: { onProgress?(p: StudyProgress): void; shouldStop?(): boolean } = {},
): Promise<StudyTotals> {
  const done = new Set(loadForResume(opts.out).map(recordKey));
  const combos: Combo[] = opts.presses.flatMap((press) => opts.ratios.map((ratio) => ({ press, ratio })));
  const units = opts.tasks.flatMap((task) =>
    shotsFor(task, opts.shots).flatMap((shots) => {
      const examples = task.examples(opts.seed, opts.n, { shots });
      // the question-agnostic setting needs a context before the question
      return opts.settings.flatMap((setting) =>
        examples.flatMap((example, index) => (setting === 'question-agnostic' && example.segments.length < 2 ? [] : [{ task, shots, example, index, setting }])),
      );
    }),
  );
  const totals: StudyTotals = { records: 0, skipped: 0, prefillMs: 0, reprefillMs: 0, pressMs: 0, decodeMs: 0, stopped: false };
  const total = units.length * combos.length;
  let progressed = 0;
  for (const u of units) {
    const base = { model: opts.modelName, task: u.task.name, setting: u.setting, shots: u.shots, example: u.index };
    const todo = combos.filter((c) => !done.has(recordKey({ ...base, ...c })));
    totals.skipped += combos.length - todo.length;
    progressed += combos.length - todo.length;
    if (!todo.length) continue;
    const context = u.setting === 'question-aware' ? u.example.segments : u.example.segments.slice(0, -1);
    const question = u.setting === 'question-aware' ? undefined : u.example.segments.at(-1)!;
    const recorder = new Session(model, tokenizer);
    const rec = recorder.record(promptOf({ segments: context }), context);
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
        hooks.onProgress?.({ done: progressed, total, label: `${u.task.name} ${u.setting} ${c.press}@${c.ratio} shots=${u.shots} #${u.index}` });
        const run = c.ratio === 0 ? full : await runCombo(model, tokenizer, rec, context, question, u.example, c, opts.decodeRatio);
        const fid = c.ratio === 0 ? { kl: 0, top1: 1 } : fidelity(model, tokenizer, rec, context, question, c, opts.decodeRatio, full);
        const r: ResultRecord = {
          ...base,
          ...c,
          ability: u.task.ability,
          output: run.text,
          score: u.task.score(u.example, run.text),
          kv_bytes: run.kvBytes,
          kv_bytes_full: run.kvBytesFull,
          ...fid,
          prompt_tokens: rec.ids.length,
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

interface ComboRun {
  text: string;
  ids: number[];
  kvBytes: number;
  kvBytesFull: number;
  pressMs: number;
  decodeMs: number;
  /** Teacher-forced logits along the full-cache answer (full-cache run only). */
  logits?: Float32Array[];
}

/**
 * A session holding the recorded context, compressed by `combo` (none: the full cache), with the
 * question prefilled on top in the question-agnostic setting. Returns the logits of the first answer token.
 */
function openSession(model: Model, tokenizer: Tokenizer, rec: PrefillRecord, context: Segments, question: Question, combo: Combo | undefined, decodeRatio: number) {
  const compression = combo && { press: combo.press, ratio: combo.ratio, ...(decodeRatio > 0 ? { decodePress: combo.press, decodeRatio } : {}) };
  const session = new Session(model, tokenizer, { compression });
  const t0 = performance.now();
  let logits = session.prefill(promptOf({ segments: context }), { segments: context, from: rec });
  const pressMs = performance.now() - t0;
  if (question) logits = session.prefill(question.text, { segments: [question], compress: false });
  return { session, logits, pressMs };
}

/** Greedy answer of one (press, ratio) — or of the full cache, whose teacher-forced logits are kept for fidelity. */
async function runCombo(model: Model, tokenizer: Tokenizer, rec: PrefillRecord, context: Segments, question: Question, example: Example, combo: Combo | undefined, decodeRatio: number): Promise<ComboRun> {
  const { session, pressMs } = openSession(model, tokenizer, rec, context, question, combo, decodeRatio);
  const ids: number[] = [];
  let text = '';
  const t0 = performance.now();
  for await (const t of session.generate({ maxTokens: example.maxNewTokens, stop: example.stop })) {
    if (t.id >= 0) ids.push(t.id);
    text += t.text;
  }
  const run: ComboRun = { text, ids, kvBytes: session.cache.bytes(), kvBytesFull: session.cache.fullBytes(), pressMs, decodeMs: performance.now() - t0 };
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
