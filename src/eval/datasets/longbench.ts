import type { Ability, ExampleOptions, Task } from '../tasks/task.js';
import { fileTask, type DatasetRecord } from './file-task.js';
import { readJsonl } from './jsonl.js';
import { classificationScore, codeSimScore, countScore, qaF1, qaF1Zh, retrievalScore, rougeL, rougeLZh } from './longbench-metrics.js';

type Metric = 'qa-f1' | 'qa-f1-zh' | 'rouge-l' | 'rouge-l-zh' | 'classification' | 'retrieval' | 'count' | 'code-sim';

interface DatasetInfo {
  metric: Metric;
  /** LongBench's generation length for the dataset. */
  maxNewTokens: number;
  /** LongBench grades only the first line of these (few-shot style) datasets. */
  firstLineOnly?: boolean;
}

/** LongBench's subsets: metric and generation length (its dataset2metric / dataset2maxlen). Unknown names get QA-F1. */
const DATASETS: Record<string, DatasetInfo> = {
  narrativeqa: { metric: 'qa-f1', maxNewTokens: 128 },
  qasper: { metric: 'qa-f1', maxNewTokens: 128 },
  multifieldqa_en: { metric: 'qa-f1', maxNewTokens: 64 },
  multifieldqa_zh: { metric: 'qa-f1-zh', maxNewTokens: 64 },
  hotpotqa: { metric: 'qa-f1', maxNewTokens: 32 },
  '2wikimqa': { metric: 'qa-f1', maxNewTokens: 32 },
  musique: { metric: 'qa-f1', maxNewTokens: 32 },
  dureader: { metric: 'rouge-l-zh', maxNewTokens: 128 },
  gov_report: { metric: 'rouge-l', maxNewTokens: 512 },
  qmsum: { metric: 'rouge-l', maxNewTokens: 512 },
  multi_news: { metric: 'rouge-l', maxNewTokens: 512 },
  vcsum: { metric: 'rouge-l-zh', maxNewTokens: 512 },
  trec: { metric: 'classification', maxNewTokens: 64, firstLineOnly: true },
  triviaqa: { metric: 'qa-f1', maxNewTokens: 32, firstLineOnly: true },
  samsum: { metric: 'rouge-l', maxNewTokens: 128, firstLineOnly: true },
  lsht: { metric: 'classification', maxNewTokens: 64, firstLineOnly: true },
  passage_count: { metric: 'count', maxNewTokens: 32 },
  passage_retrieval_en: { metric: 'retrieval', maxNewTokens: 32 },
  passage_retrieval_zh: { metric: 'retrieval', maxNewTokens: 32 },
  lcc: { metric: 'code-sim', maxNewTokens: 64 },
  'repobench-p': { metric: 'code-sim', maxNewTokens: 64 },
};
const DEFAULT_INFO: DatasetInfo = { metric: 'qa-f1', maxNewTokens: 128 };

/** The subset's metric and length; LongBench-E names ("qasper_e") count as their LongBench subset. */
export function longBenchInfo(dataset: string | undefined): DatasetInfo {
  return (dataset && (DATASETS[dataset] ?? DATASETS[dataset.replace(/_e$/, '')])) || DEFAULT_INFO;
}

interface LongBenchRecord extends DatasetRecord {
  input: string;
  context: string;
  answers: string[];
  classes: string[];
  info: DatasetInfo;
}

function metricScore(metric: Metric, pred: string, truth: string, classes: readonly string[]): number {
  switch (metric) {
    case 'qa-f1': return qaF1(pred, truth);
    case 'qa-f1-zh': return qaF1Zh(pred, truth);
    case 'rouge-l': return rougeL(pred, truth);
    case 'rouge-l-zh': return rougeLZh(pred, truth);
    case 'classification': return classificationScore(pred, truth, classes);
    case 'retrieval': return retrievalScore(pred, truth);
    case 'count': return countScore(pred, truth);
    case 'code-sim': return codeSimScore(pred, truth);
  }
}

/** LongBench's score of one output: the metric of its subset, best over the reference answers. */
function scoreOutput(r: LongBenchRecord, output: string): number {
  const pred = r.info.firstLineOnly ? (output.replace(/^\n+/, '').split('\n')[0] ?? '') : output;
  return Math.max(0, ...r.answers.map((a) => metricScore(r.info.metric, pred, a, r.classes)));
}

function questionText(r: LongBenchRecord): string {
  if (r.input.trim()) return `Question: ${r.input.trim()}\nAnswer:`;
  return r.info.metric.startsWith('rouge') ? 'Summary:' : r.info.metric === 'code-sim' ? 'Next line of code:\n' : 'Answer:';
}

/** The context cut in the middle (LongBench keeps the head and tail of a too-long prompt) so the prompt fits `length` characters. */
function fitContext(r: LongBenchRecord, question: string, opts: ExampleOptions): string {
  const full = `${r.context}\n\n`;
  if (opts.length === undefined) return full;
  if (!Number.isSafeInteger(opts.length)) throw new RangeError(`longbench: length ${opts.length} must be an integer`);
  if (full.length + question.length <= opts.length) return full;
  const budget = opts.length - question.length;
  if (budget < 2) throw new RangeError(`longbench: length ${opts.length} leaves no room for the context of ${r.key} (question: ${question.length} characters)`);
  const head = Math.ceil(budget / 2);
  return full.slice(0, head) + full.slice(full.length - (budget - head));
}

const abilityOf = (m: Metric): Ability => (m.startsWith('rouge') ? 'long-generation' : m === 'code-sim' ? 'code' : 'retrieval');

/**
 * LongBench / LongBench-E jsonl `{input, context, answers[], all_classes?, dataset?, _id?, length?}`,
 * zero-shot: the context is the question-agnostic segment, then "Question: …\nAnswer:". Scored by
 * the subset's metric (from `dataset`; QA-F1 when absent or unknown). `opts.length` (characters)
 * cuts the middle of a longer context, as LongBench truncates prompts longer than the model's window.
 */
export function loadLongBench(file: string, name: string): Task {
  const records = readJsonl(file).map((r): LongBenchRecord => {
    const answers = r.strings('answers');
    if (!answers.length) r.fail('field "answers" is empty');
    const info = longBenchInfo(r.optionalString('dataset'));
    const classes = r.has('all_classes') ? r.strings('all_classes') : [];
    if (info.metric === 'classification' && !classes.length) r.fail('a classification subset needs "all_classes"');
    return { key: r.optionalString('_id') ?? `L${r.line}`, input: r.string('input'), context: r.string('context'), answers, classes, info };
  });
  const abilities = new Set(records.map((r) => abilityOf(r.info.metric)));
  return fileTask({
    name,
    kind: 'longbench',
    file,
    ability: abilities.size === 1 ? [...abilities][0]! : 'retrieval',
    shotCounts: [0],
    defaultShots: 0,
    records,
    build: (r, _shots, opts) => {
      const question = questionText(r);
      return {
        segments: [
          { kind: 'other', text: fitContext(r, question, opts) },
          { kind: 'question', text: question },
        ],
        answer: ` ${r.answers[0]!}`,
        maxNewTokens: r.info.maxNewTokens,
      };
    },
    extract: (output) => output.trim(),
    score: (r, _example, output) => scoreOutput(r, output),
  });
}
