import { FormatError } from '../../formats/format-error.js';
import { readDatasetFile } from './dataset-file.js';

/** One CSV record and the 1-based line it starts on (records can span lines inside quotes). */
export interface CsvRow {
  line: number;
  cells: string[];
}

/**
 * RFC 4180 CSV: fields separated by commas, records by LF, CRLF or CR; a quoted field may hold
 * commas, newlines and doubled quotes (""). A quote inside an unquoted field is kept literally (as
 * Python's csv module does); text after a closing quote, or a quote never closed, is an error.
 * Blank lines are skipped.
 */
export function parseCsv(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  const plain = /[^,\r\n]*/y;
  let cells: string[] = [];
  let line = 1;
  let rowLine = 1;
  let i = 0;
  for (;;) {
    // One field, starting at i.
    let cell: string;
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      const start = line;
      const parts: string[] = [];
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new FormatError(file, `line ${start}: quoted field never closed`);
        const piece = text.slice(i, q);
        parts.push(piece);
        line += countLines(piece);
        if (text[q + 1] !== '"') {
          i = q + 1;
          break;
        }
        parts.push('"');
        i = q + 2;
      }
      cell = parts.join('');
      if (i < text.length && !',\r\n'.includes(text[i]!)) throw new FormatError(file, `line ${line}: unexpected text after a closing quote`);
    } else {
      plain.lastIndex = i;
      plain.exec(text);
      cell = text.slice(i, plain.lastIndex);
      i = plain.lastIndex;
    }
    cells.push(cell);
    if (text[i] === ',') {
      i++;
      continue;
    }
    // End of record: a blank line (one empty unquoted cell) is skipped.
    if (cells.length > 1 || cell !== '' || quoted) rows.push({ line: rowLine, cells });
    cells = [];
    if (i >= text.length) break;
    i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
    line++;
    rowLine = line;
    if (i >= text.length) break;
  }
  return rows;
}

/** Line breaks (LF, CRLF or CR) in a piece of text. */
function countLines(piece: string): number {
  return piece.match(/\r\n|\r|\n/g)?.length ?? 0;
}

export function readCsv(file: string): CsvRow[] {
  return parseCsv(readDatasetFile(file), file);
}

/** Rows of a CSV file with a header row, as column → value maps; every row must have the header's column count. */
export function readCsvWithHeader(file: string): { header: string[]; rows: { line: number; get(column: string): string }[] } {
  const [head, ...body] = readCsv(file);
  if (!head) throw new FormatError(file, 'empty CSV file (a header row is needed)');
  const header = head.cells.map((h) => h.trim());
  const rows = body.map((r) => {
    if (r.cells.length !== header.length) throw new FormatError(file, `line ${r.line}: ${r.cells.length} columns, the header has ${header.length}`);
    return { line: r.line, get: (column: string) => r.cells[header.indexOf(column)] ?? '' };
  });
  return { header, rows };
}
