import { appendFileSync, existsSync, readFileSync } from 'node:fs';

/** Question-aware: the whole prompt is prefilled, then compressed. Question-agnostic: the context is compressed before the question arrives. */
export type Setting = 'question-aware' | 'question-agnostic';

/** One line of a study's JSONL: one model × press × ratio × shots × example. */
export interface ResultRecord {
  model: string;
  task: string;
  ability: string;
  setting: Setting;
  press: string;
  /** Fraction of the KV cache removed (0 = full cache). */
  ratio: number;
  shots: number;
  example: number;
  output: string;
  /** 0..1 */
  score: number;
  kv_bytes: number;
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

/** Identity of a record for resuming: everything but the measured values. */
export function recordKey(r: Pick<ResultRecord, 'model' | 'task' | 'setting' | 'press' | 'ratio' | 'shots' | 'example'>): string {
  return [r.model, r.task, r.setting, r.press, r.ratio, r.shots, r.example].join('\u0001');
}

/** Reads a JSONL results file; a truncated last line (a killed run) is ignored, any other bad line is an error. */
export function readResults(file: string): ResultRecord[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: ResultRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as ResultRecord);
    } catch {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
  });
  return out;
}

export function appendResult(file: string, r: ResultRecord): void {
  appendFileSync(file, JSON.stringify(r) + '\n');
}
