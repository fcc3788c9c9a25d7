import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readResults } from '../result.js';
import { renderReport, type ReportMeta } from './html-report.js';

/** `<name>.meta.json` beside a results file carries the run's settings and model card. */
export const metaPath = (resultsFile: string) => resultsFile.replace(/\.jsonl$/, '') + '.meta.json';
export const reportPath = (resultsFile: string) => resultsFile.replace(/\.jsonl$/, '') + '.html';

/** Renders a results JSONL (and its meta file, when present) into a self-contained HTML file. */
export function writeReport(resultsFile: string, out = reportPath(resultsFile)): string {
  const records = readResults(resultsFile);
  if (!records.length) throw new Error(`${resultsFile}: no results to report`);
  const mp = metaPath(resultsFile);
  const meta: ReportMeta = existsSync(mp) ? (JSON.parse(readFileSync(mp, 'utf8')) as ReportMeta) : {};
  writeFileSync(out, renderReport(records, meta));
  return out;
}
