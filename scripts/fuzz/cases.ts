import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FormatError } from '../../src/formats/format-error.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { ChatTemplateError } from '../../src/tokenizer/chat-template.js';
import { loadTokenizer } from '../../src/tokenizer/load-tokenizer.js';
import { mulberry32 } from '../../test/helpers/mulberry32.js';
import { applies, MUTATIONS, mutate, type Mutated } from './mutate.js';
import type { Seed } from './seeds.js';

/** What loading one mutated input did. Typed: a FormatError or ChatTemplateError; crash: any other error. */
export type Outcome = 'typed' | 'crash' | 'hang' | 'oom' | 'loaded';
export const OUTCOMES: readonly Outcome[] = ['typed', 'crash', 'hang', 'oom', 'loaded'];

/** Case `id` of run `seed`: a seed input (round robin) and a mutation that applies to it (round robin), randomised by both numbers. */
export function caseOf(seeds: readonly Seed[], seed: number, id: number): Mutated {
  const s = seeds[id % seeds.length]!;
  const rng = mulberry32(Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b));
  const usable = MUTATIONS.filter((m) => Object.keys(s.files).some((name) => applies(m, name)));
  return mutate(s, usable[Math.floor(id / seeds.length) % usable.length]!, rng);
}

/**
 * Writes the case's files into `dir` and loads them as kvtrim would: the checkpoint, its tokenizer, one
 * encode/decode and the chat template when there is one.
 */
export async function runCase(c: Mutated, entry: string, dir: string): Promise<{ outcome: Outcome; message: string }> {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  try {
    const checkpoint = loadCheckpoint(join(dir, entry));
    const tokenizer = await loadTokenizer(checkpoint);
    tokenizer.decode(tokenizer.encode('Once upon a time, ünï 123'));
    tokenizer.applyChatTemplate?.([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
    return { outcome: 'loaded', message: '' };
  } catch (e) {
    if (e instanceof FormatError || e instanceof ChatTemplateError) return { outcome: 'typed', message: e.message.replace(dir, '') };
    return { outcome: 'crash', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}
