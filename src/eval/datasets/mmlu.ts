import { basename } from 'node:path';
import { FormatError } from '../../formats/format-error.js';
import type { Task } from '../tasks/task.js';
import { readCsv } from './csv.js';
import { fileTask, type DatasetRecord } from './file-task.js';
import { readJsonl } from './jsonl.js';
import { choiceLetter, choicesBlock } from './multiple-choice.js';

const LETTERS = 'ABCD';

interface MmluRecord extends DatasetRecord {
  question: string;
  choices: string[];
  letter: string;
  subject: string | undefined;
}

/** "abstract_algebra_test.csv" → "abstract algebra" (the original files are named <subject>_<split>.csv). */
function subjectOfFile(file: string): string | undefined {
  const m = /^(.+)_(test|dev|val)\.csv$/.exec(basename(file));
  return m ? m[1]!.replace(/_/g, ' ') : undefined;
}

/** Original MMLU csv: rows `question,A,B,C,D,answer` with no header. */
function fromCsv(file: string): MmluRecord[] {
  const subject = subjectOfFile(file);
  return readCsv(file).map((row) => {
    if (row.cells.length !== 6) throw new FormatError(file, `line ${row.line}: ${row.cells.length} columns, expected 6 (question,A,B,C,D,answer)`);
    const [question, a, b, c, d, answer] = row.cells as [string, string, string, string, string, string];
    const letter = answer.trim();
    if (letter.length !== 1 || !LETTERS.includes(letter)) throw new FormatError(file, `line ${row.line}: answer "${answer}" is not one of A, B, C, D`);
    return { key: `L${row.line}`, group: subject, question, choices: [a, b, c, d], letter, subject };
  });
}

/** Hugging Face layout: `{question, choices[4], answer (0-3 or "A"-"D"), subject?}` per line. */
function fromJsonl(file: string): MmluRecord[] {
  return readJsonl(file).map((r) => {
    const choices = r.strings('choices');
    if (choices.length !== 4) r.fail(`field "choices" has ${choices.length} entries, expected 4`);
    const a = r.data['answer'];
    const letter = typeof a === 'number' && Number.isInteger(a) && a >= 0 && a < 4 ? LETTERS[a]! : typeof a === 'string' && a.length === 1 && LETTERS.includes(a) ? a : '';
    if (!letter) r.fail(a === undefined ? 'missing field "answer"' : 'field "answer" must be 0-3 or one of "A"-"D"');
    const subject = r.optionalString('subject')?.replace(/_/g, ' ');
    return { key: `L${r.line}`, group: subject, question: r.string('question'), choices, letter, subject };
  });
}

const block = (r: MmluRecord) => choicesBlock(r.question, r.choices.map((text, i) => ({ label: LETTERS[i]!, text })));

/**
 * MMLU, from an original `<subject>_<split>.csv` or a Hugging Face-style `.jsonl`. The standard
 * 5-shot prompt: a subject header, then worked questions "…\nA. …\nB. …\nC. …\nD. …\nAnswer: X\n\n",
 * shots taken per subject from the first 5 records of that subject. Scored by the extracted letter.
 *
 * The answer is one token, so in the question-aware setting its logits come from the prefill and
 * no press can change it: MMLU shows an effect of compression only in the question-agnostic setting
 * (see design.md). The prompt format stays the standard one so numbers stay comparable.
 */
export function loadMmlu(file: string, name: string): Task {
  const records = file.endsWith('.csv') ? fromCsv(file) : file.endsWith('.jsonl') ? fromJsonl(file) : undefined;
  if (!records) throw new FormatError(file, 'MMLU needs a .csv file (original layout) or a .jsonl file (Hugging Face layout)');
  return fileTask({
    name,
    kind: 'mmlu',
    file,
    ability: 'knowledge',
    shotCounts: [0, 1, 2, 3, 4, 5],
    defaultShots: 5,
    records,
    build: (r, shots) => ({
      segments: [
        { kind: 'system', text: `The following are multiple choice questions (with answers)${r.subject ? ` about ${r.subject}` : ''}.\n\n` },
        ...shots.map((s) => ({ kind: 'shot' as const, text: `${block(s)}\nAnswer: ${s.letter}\n\n` })),
        { kind: 'question', text: `${block(r)}\nAnswer:` },
      ],
      answer: ` ${r.letter}`,
      maxNewTokens: 4,
      stop: ['\n'],
    }),
    extract: (output) => choiceLetter(output, LETTERS),
    score: (r, _example, output) => (choiceLetter(output, LETTERS) === r.letter ? 1 : 0),
  });
}
