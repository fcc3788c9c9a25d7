import { Command } from 'commander';
import { register } from '../../src/cli/generate.js';

/** Parses `kvtrim generate --prompt x ...args` in-process, exits and output captured; returns the error it stopped with ('' when none). */
export async function generateError(...args: string[]): Promise<string> {
  const program = new Command('kvtrim').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  try {
    await program.parseAsync(['node', 'kvtrim', 'generate', '--prompt', 'x', ...args]);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return '';
}
