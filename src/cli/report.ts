import type { Command } from 'commander';
import { writeReport } from '../eval/report/write-report.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('render a study results JSONL into a self-contained HTML report')
    .argument('<results>', 'results.jsonl written by kvtrim eval')
    .option('--out <file>', 'output HTML (default: beside the results, same name)')
    .action((results: string, flags: { out?: string }) => {
      console.log(`report written to ${writeReport(results, flags.out)}`);
    });
}
