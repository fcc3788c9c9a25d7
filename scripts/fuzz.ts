/**
 * Fuzzes kvtrim's model, config and tokenizer loading with mutated copies of the repository's own
 * fixtures and freshly written tiny models; prints a table per input file and mutation.
 *   npm run fuzz -- --minutes 10 --seed 1        (as long as asked)
 *   npm run fuzz -- --seed 1 --case 1234         (one case, alone, with its full message)
 * A crash, hang or out-of-memory prints the command that reproduces it; the exit status is 1 then.
 */
import { parseArgs } from 'node:util';
import { fuzz, summarise, type CaseResult } from './fuzz/engine.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    case: { type: 'string' },
    'case-ms': { type: 'string', default: '10000' },
    'mem-mb': { type: 'string', default: '1024' },
    batch: { type: 'string', default: '500' },
  },
});
const seed = Number(values.seed);
const common = { seed, caseMs: Number(values['case-ms']), memMB: Number(values['mem-mb']), heapMB: Number(values['mem-mb']) };
const failures: CaseResult[] = [];
const onResult = (r: CaseResult) => {
  if (r.outcome === 'typed' || r.outcome === 'loaded') return;
  failures.push(r);
  console.log(`${r.outcome}: case ${r.id} (${r.target}, ${r.mutation}), reproduce with: npm run fuzz -- --seed ${seed} --case ${r.id}\n  ${r.message.split('\n').slice(0, 8).join('\n  ')}`);
};

if (values.case !== undefined) {
  const [r] = await fuzz({ ...common, first: Number(values.case), count: 1, batch: 1, onResult });
  console.log(JSON.stringify(r, null, 1));
} else {
  const t0 = performance.now();
  const results = await fuzz({ ...common, first: 0, count: Infinity, deadline: t0 + Number(values.minutes) * 60_000, batch: Number(values.batch), onResult });
  console.log(`seed ${seed}, ${results.length} cases in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(summarise(results));
}
process.exitCode = failures.length > 0 ? 1 : 0;
