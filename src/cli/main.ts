import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  () => import('./duo-profile.js'),
  () => import('./serve.js'),
  () => import('./playground.js'),
];

/** The version kvtrim's package.json states, found upward from this file (src/cli/ under tsx, dist/src/cli/ when built). */
function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'kvtrim') return pkg.version;
    }
    if (dir.pathname === '/') throw new Error("kvtrim's package.json was not found above " + fileURLToPath(import.meta.url));
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kvtrim')
    .description('LLM inference with a first-class, compressible KV cache')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError();
  for (const load of commandModules) (await load()).register(program);
  await program.parseAsync(argv);
}
