import { readFileSync } from 'node:fs';
import { FormatError } from '../../formats/format-error.js';

/** The whole text of a dataset file the user brought (UTF-8, a leading BOM dropped); unreadable files are a FormatError. */
export function readDatasetFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FormatError(file, `cannot read the dataset file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
