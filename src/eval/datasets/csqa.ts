import type { Task } from '../tasks/task.js';
import { fileTask, type DatasetRecord } from './file-task.js';
import { readJsonl } from './jsonl.js';
import { choiceLetter, choicesBlock, type Choice } from './multiple-choice.js';

const LETTERS = 'ABCDE';

interface CsqaRecord extends DatasetRecord {
  stem: string;
  choices: Choice[];
  answerKey: string;
}

/**
 * CommonsenseQA jsonl `{id, question: {stem, choices: [{label, text}]}, answerKey}` (the public
 * train/dev files; the test split has no answerKey and is refused). Prompt in the MMLU layout,
 * shots from the file's first 7 records (the chain-of-thought paper's exemplar count), graded by
 * the first standalone letter A–E of the answer. Like MMLU, a one-token answer shows compression
 * only in the question-agnostic setting.
 */
export function loadCsqa(file: string, name: string): Task {
  const records = readJsonl(file).map((r): CsqaRecord => {
    const q = r.object('question');
    const choices = q.objects('choices').map((c) => ({ label: c.string('label').trim(), text: c.string('text') }));
    const labels = choices.map((c) => c.label);
    if (choices.length < 2 || labels.some((l) => l.length !== 1 || !LETTERS.includes(l)) || new Set(labels).size !== labels.length)
      r.fail(`choices must have distinct labels among ${LETTERS.split('').join(', ')} (got ${labels.join(', ') || 'none'})`);
    const answerKey = r.string('answerKey').trim();
    if (!labels.includes(answerKey)) r.fail(`answerKey "${answerKey}" is not one of the choice labels`);
    return { key: r.optionalString('id') ?? `L${r.line}`, stem: q.string('stem'), choices, answerKey };
  });
  return fileTask({
    name,
    kind: 'csqa',
    file,
    ability: 'commonsense',
    shotCounts: [0, 1, 2, 4, 7],
    defaultShots: 7,
    records,
    build: (r, shots) => ({
      segments: [
        ...shots.map((s) => ({ kind: 'shot' as const, text: `${choicesBlock(s.stem, s.choices)}\nAnswer: ${s.answerKey}\n\n` })),
        { kind: 'question', text: `${choicesBlock(r.stem, r.choices)}\nAnswer:` },
      ],
      answer: ` ${r.answerKey}`,
      maxNewTokens: 4,
      stop: ['\n'],
    }),
    extract: (output) => choiceLetter(output, LETTERS),
    score: (r, _example, output) => (choiceLetter(output, LETTERS) === r.answerKey ? 1 : 0),
  });
}
