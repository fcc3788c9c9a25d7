import { firstLine } from '../tasks/few-shot.js';

export interface Choice {
  label: string;
  text: string;
}

/** "question\nA. text\nB. text…": the MMLU layout, shared by every multiple-choice loader. */
export function choicesBlock(question: string, choices: readonly Choice[]): string {
  return [question.trim(), ...choices.map((c) => `${c.label}. ${c.text}`)].join('\n');
}

/** The first standalone choice letter on the output's first line (" B", "(B)", "B. text", "The answer is B"); "" if none. */
export function choiceLetter(output: string, letters: string): string {
  const m = new RegExp(`\\b([${letters}])\\b`).exec(firstLine(output));
  return m ? m[1]! : '';
}
