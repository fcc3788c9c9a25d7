import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';

/** Each command lives in its own file and registers itself on the program. */
type CommandModule = { register(program: Command): void };
const commandModules: (() => Promise<CommandModule>)[] = [
  () => import('./generate.js'),
  () => import('./info.js'),
  () => import('./download.js'),
  () => import('./report.js'),
  () => import('./eval.js'),
  () => import('./prune.js'),
  () => import('./perplexity.js'),
  () => import('./heatmap.js'),
  () => import('./bench.js'),
  () => import('./presses.js'),
];

/** The version package.json states, read at run time: two levels above src/cli/, three above dist/src/cli/. */
function packageVersion(): string {
  const file = [new URL('../../package.json', import.meta.url), new URL('../../../package.json', import.meta.url)].find(existsSync)!;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kvtrim')
    .description('LLM inference with a first-class, compressible KV cache')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError();
  for (const load of commandModules) (await load()).register(program);
  await program.parseAsync(argv);
}
