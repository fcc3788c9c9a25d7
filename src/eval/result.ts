import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { ParamValue } from '../press/registry-entry.js';

/** Question-aware: the whole prompt is prefilled, then compressed. Question-agnostic: the context is compressed before the question arrives. */
export type Setting = 'question-aware' | 'question-agnostic';

/** The full-cache baseline's press name: one record per example and setting, whatever presses the study compares. */
export const FULL_CACHE = 'full';

/** One line of a study's JSONL: one model × setting × press (and its parameters) × ratio × decode ratio × shots × example. */
export interface ResultRecord {
  model: string;
  task: string;
  ability: string;
  setting: Setting;
  /** A registry press, or `full` (the uncompressed baseline, ratio 0). */
  press: string;
  /** The press's parameters that differ from its defaults (e.g. FastGen's threshold τ, ShotKV's keepProtected). */
  press_params: Record<string, ParamValue>;
  /** Fraction of the KV cache removed (0 = full cache); null for a press whose memory comes from its own parameter (FastGen's τ). */
  ratio: number | null;
  /** Ratio of the press acting on the generated tokens (0 = decoding not compressed). */
  decode_ratio: number;
  /** Shots actually in the prompt (fewer than asked when the prompt had to be shortened to fit: see `fit`). */
  shots: number;
  example: number;
  /** How the prompt was shortened to fit the model's context, when it was (e.g. "2 of 4 shots"). */
  fit?: string;
  output: string;
  /** 0..1 */
  score: number;
  /** Safety-like tasks: whether the question must be refused (the report gives refusal and answer rates apart). */
  refusal_expected?: boolean;
  /** Full-cache, question-aware records: what the question's queries attend to in the prompt (methods.md §11's head statistics). */
  attention?: PromptAttention;
  /**
   * Share of the compressed prompt's KV entries kept, measured from the cache right after the
   * compressed prefill (the whole prompt question-aware, the context question-agnostic), before any generated token.
   */
  prefill_kept: number;
  /** Share of the entries the full cache would hold kept at the end of generation. */
  final_kept: number;
  /** KV bytes after the whole prompt (context and question), before any generated token. */
  kv_bytes: number;
  /** What the full cache holds at the same point. */
  kv_bytes_full: number;
  /** Mean next-token KL(full ‖ compressed) along the full-cache answer, teacher-forced. */
  kl: number;
  /** Share of those steps where the compressed cache's top-1 token equals the full cache's. */
  top1: number;
  prompt_tokens: number;
  prefill_ms: number;
  press_ms: number;
  decode_ms: number;
}

/** Per-head attention statistics of the question's query rows over the whole prompt, averaged over layers and KV heads. */
export interface PromptAttention {
  /** Mean entropy of a row's attention, in nats. */
  entropy: number;
  /** Mean share of a row's mass on its top 10 % keys. */
  top10: number;
  /** Mean mass on the system prompt's positions, and on each shot's (in prompt order). */
  system: number;
  /** The system prompt's share of the prompt's tokens (the mass uniform attention would give it). */
  systemShare: number;
  shots: number[];
}

type KeyFields = Pick<ResultRecord, 'model' | 'task' | 'setting' | 'press' | 'press_params' | 'ratio' | 'decode_ratio' | 'shots' | 'example'>;

/** Parameters in a fixed order, so equal settings give equal keys. */
export function paramsKey(params: Record<string, ParamValue>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join(',');
}

/** Identity of a record for resuming and merging: everything but the measured values. */
export function recordKey(r: KeyFields): string {
  return [r.model, r.task, r.setting, r.press, paramsKey(r.press_params), r.ratio, r.decode_ratio, r.shots, r.example].join('\u0001');
}

/** The fields every record must carry, with their JSON types: a line without them is not a study result. */
const SCHEMA: Record<string, 'string' | 'number' | 'object'> = {
  model: 'string', task: 'string', ability: 'string', setting: 'string', press: 'string', press_params: 'object',
  decode_ratio: 'number', shots: 'number', example: 'number', output: 'string', score: 'number',
  prefill_kept: 'number', final_kept: 'number', kv_bytes: 'number', kv_bytes_full: 'number', kl: 'number', top1: 'number',
};

/** Why `x` is not a ResultRecord of this schema, or undefined when it is one. */
function schemaError(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null) return 'not an object';
  const o = x as Record<string, unknown>;
  for (const [k, type] of Object.entries(SCHEMA)) if (typeof o[k] !== type || o[k] === null) return `field '${k}' is ${o[k] === undefined ? 'missing' : `not a ${type}`}`;
  if (!(o.ratio === null || typeof o.ratio === 'number')) return "field 'ratio' is not a number or null";
  if (o.setting !== 'question-aware' && o.setting !== 'question-agnostic') return `unknown setting '${String(o.setting)}'`;
  return undefined;
}

/**
 * Reads a JSONL results file; a truncated last line (a killed run) is ignored, any other bad line
 * (not JSON, or not a record of this schema) is an error naming the line. A missing file reads as no results.
 */
export function readResults(file: string): ResultRecord[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: ResultRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch {
      if (lines.slice(i + 1).some((l) => l.trim())) throw new Error(`${file}:${i + 1}: not valid JSON`);
      return;
    }
    const bad = schemaError(x);
    if (bad) throw new Error(`${file}:${i + 1}: not a kvtrim study result (${bad})`);
    out.push(x as ResultRecord);
  });
  return out;
}

export function appendResult(file: string, r: ResultRecord): void {
  appendFileSync(file, JSON.stringify(r) + '\n');
}
