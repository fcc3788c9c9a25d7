import type { Task } from '../tasks/task.js';
import { fileTask, type DatasetRecord } from './file-task.js';
import { readJsonl } from './jsonl.js';

interface Gsm8kRecord extends DatasetRecord {
  question: string;
  /** The worked answer as in the file, ending "#### <number>". */
  answer: string;
  /** The number after "####", commas dropped. */
  final: string;
}

const STOP = ['Question:', '\n\n'];

/** The last number in a text ("1,234", "-5", "3.50"), commas dropped; "" if none. */
export function lastNumber(text: string): string {
  const all = text.match(/-?\d[\d,]*(?:\.\d+)?/g);
  return all ? all[all.length - 1]!.replace(/,/g, '') : '';
}

/** The output up to the first stop sequence (outputs scored here may come from runs that did not stop). */
function untilStop(output: string): string {
  return STOP.reduce((s, stop) => (s.includes(stop) ? s.slice(0, s.indexOf(stop)) : s), output);
}

/**
 * GSM8K test jsonl `{question, answer}`, the answer's last line "#### <number>". Shots are the
 * file's first 8 records with their worked answers, in the lm-eval layout "Question: …\nAnswer: …\n\n";
 * the model answers after "Answer:" and its last number must equal the reference number.
 */
export function loadGsm8k(file: string, name: string): Task {
  const records = readJsonl(file).map((r): Gsm8kRecord => {
    const answer = r.string('answer').trim();
    const m = /####\s*(.+)$/.exec(answer);
    const final = m ? lastNumber(m[1]!) : '';
    if (!final) r.fail('field "answer" must end with "#### <number>"');
    return { key: `L${r.line}`, question: r.string('question').trim(), answer, final };
  });
  return fileTask({
    name,
    kind: 'gsm8k',
    file,
    ability: 'arithmetic',
    shotCounts: [0, 1, 2, 4, 8],
    defaultShots: 8,
    records,
    build: (r, shots) => ({
      segments: [
        ...shots.map((s) => ({ kind: 'shot' as const, text: `Question: ${s.question}\nAnswer: ${s.answer}\n\n` })),
        { kind: 'question', text: `Question: ${r.question}\nAnswer:` },
      ],
      answer: ` ${r.answer}`,
      maxNewTokens: 256,
      stop: STOP,
    }),
    extract: (output) => lastNumber(untilStop(output)),
    score(r, _example, output) {
      const got = lastNumber(untilStop(output));
      return got !== '' && Number(got) === Number(r.final) ? 1 : 0;
    },
  });
}
