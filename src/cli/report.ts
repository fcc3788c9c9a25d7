import type { Command } from 'commander';
import { writeReport } from '../eval/report/write-report.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('render one or more study results JSONL files (shards, other models) into one self-contained HTML report')
    .argument('<results...>', 'results.jsonl files written by kvtrim eval; each keeps its own settings and model')
    .option('--out <file>', 'output HTML (default: beside the first results file, same name)')
    .action((results: string[], flags: { out?: string }) => {
      console.log(`report written to ${writeReport(results, flags.out)}`);
    });
}
