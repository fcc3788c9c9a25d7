import type { Command } from 'commander';
import type { Press } from '../press/press.js';
import { createPress, pressRegistry } from '../press/registry.js';

/** What `kvtrim presses` says about a press beyond its description: how it is used and what it costs. */
export function pressNotes(press: Press, memoryParam?: string): string[] {
  const notes: string[] = [];
  if (press.usesShots) notes.push('needs the prompt in shots: generate splits it at a blank line (--shot-separator)');
  if (memoryParam) notes.push(`its memory is set by ${memoryParam}, not by --ratio (a ratio above 0 only switches it on)`);
  if (press.needsAttentionSums || press.decoding?.needsAttentionSums)
    notes.push('keeps running attention sums, which the WebAssembly attention kernel does not compute: attention runs in TypeScript while it is on (slower)');
  return notes;
}

export function register(program: Command): void {
  program
    .command('presses')
    .description('list the KV cache compression methods with their parameters and defaults')
    .action(() => {
      for (const e of pressRegistry) {
        console.log(`${e.name.padEnd(20)} ${e.description}`);
        for (const p of e.params) console.log(`  ${`${p.name}=${typeof p.default === 'string' ? JSON.stringify(p.default) : String(p.default)}`.padEnd(22)} ${p.description}`);
        for (const n of pressNotes(createPress(e.name), e.memoryParam)) console.log(`  note: ${n}`);
      }
    });
}
