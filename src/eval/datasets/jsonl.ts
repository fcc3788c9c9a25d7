import { FormatError } from '../../formats/format-error.js';
import { readDatasetFile } from './dataset-file.js';

/** One JSON object of a JSON-lines file, with typed field access whose errors name the file and line. */
export class JsonRecord {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly data: Record<string, unknown>,
  ) {}

  fail(problem: string): never {
    throw new FormatError(this.file, `line ${this.line}: ${problem}`);
  }

  has(key: string): boolean {
    return this.data[key] !== undefined && this.data[key] !== null;
  }

  string(key: string): string {
    const v = this.data[key];
    if (typeof v !== 'string') this.fail(v === undefined ? `missing field "${key}"` : `field "${key}" must be a string`);
    return v;
  }

  optionalString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  strings(key: string): string[] {
    const v = this.data[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      this.fail(v === undefined ? `missing field "${key}"` : `field "${key}" must be an array of strings`);
    return v as string[];
  }

  object(key: string): JsonRecord {
    const v = this.data[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(v === undefined ? `missing field "${key}"` : `field "${key}" must be an object`);
    return new JsonRecord(this.file, this.line, v as Record<string, unknown>);
  }

  objects(key: string): JsonRecord[] {
    const v = this.data[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)))
      this.fail(v === undefined ? `missing field "${key}"` : `field "${key}" must be an array of objects`);
    return (v as Record<string, unknown>[]).map((x) => new JsonRecord(this.file, this.line, x));
  }
}

/** Parses a JSON-lines file: one JSON object per non-blank line. */
export function readJsonl(file: string): JsonRecord[] {
  const out: JsonRecord[] = [];
  readDatasetFile(file)
    .split(/\r?\n/)
    .forEach((text, i) => {
      if (text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new FormatError(file, `line ${i + 1}: bad JSON (${(e as Error).message})`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FormatError(file, `line ${i + 1}: expected a JSON object`);
      out.push(new JsonRecord(file, i + 1, value as Record<string, unknown>));
    });
  return out;
}
