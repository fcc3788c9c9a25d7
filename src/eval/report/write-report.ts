import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readResults, recordKey, type ResultRecord } from '../result.js';
import { renderReport, type ReportMeta, type ReportSource } from './html-report.js';

/** `<name>.meta.json` beside a results file carries the run's settings and model card. */
export const metaPath = (resultsFile: string) => resultsFile.replace(/\.jsonl$/, '') + '.meta.json';
export const reportPath = (resultsFile: string) => resultsFile.replace(/\.jsonl$/, '') + '.html';

/**
 * The records of one or more results files (shards, runs of other models), each file checked: a
 * missing file, a file with no study record and a line of another schema are errors naming the
 * file. A record present in two files (the same key) is an error too, since one would hide the other.
 */
export function loadResults(files: readonly string[]): { records: ResultRecord[]; sources: ReportSource[] } {
  if (!files.length) throw new Error('no results file given');
  const records: ResultRecord[] = [];
  const sources: ReportSource[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`${file}: no such results file`);
    const rs = readResults(file);
    if (!rs.length) throw new Error(`${file}: no study results in it (expected JSON lines written by kvtrim eval)`);
    for (const r of rs) {
      const k = recordKey(r);
      const other = seen.get(k);
      if (other !== undefined) throw new Error(`${file}: result ${r.task}/${r.setting}/${r.press}@${r.ratio} example ${r.example} is also in ${other}`);
      seen.set(k, file);
    }
    const mp = metaPath(file);
    const meta: ReportMeta = existsSync(mp) ? (JSON.parse(readFileSync(mp, 'utf8')) as ReportMeta) : {};
    records.push(...rs);
    sources.push({ file: basename(file), meta, records: rs.length });
  }
  return { records, sources };
}

/** Renders one or more results JSONL files (and their meta files) into one self-contained HTML file. */
export function writeReport(files: string | readonly string[], out?: string): string {
  const list = typeof files === 'string' ? [files] : files;
  const { records, sources } = loadResults(list);
  const target = out ?? reportPath(list[0]!);
  writeFileSync(target, renderReport(records, sources));
  return target;
}
