import type { Command } from 'commander';
import { pressRegistry } from '../press/registry.js';

export function register(program: Command): void {
  program
    .command('presses')
    .description('list the KV cache compression methods with their parameters and defaults')
    .action(() => {
      for (const e of pressRegistry) {
        console.log(`${e.name.padEnd(20)} ${e.description}`);
        for (const p of e.params) console.log(`  ${`${p.name}=${String(p.default)}`.padEnd(22)} ${p.description}`);
      }
    });
}
