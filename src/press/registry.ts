import type { Press } from './press.js';
import type { PressContext } from './press-context.js';
import type { ParamValue, PressEntry } from './registry-entry.js';
import { adakvEntry } from './adakv.js';
import { chunkkvEntry } from './chunkkv.js';
import { duoAttentionEntry } from './duo-attention.js';
import { expectedAttentionEntry } from './expected-attention.js';
import { fastgenEntry } from './fastgen.js';
import { h2oEntry } from './h2o.js';
import { keydiffEntry } from './keydiff.js';
import { knormEntry } from './knorm.js';
import { kvzipEntry } from './kvzip.js';
import { noneEntry } from './none.js';
import { pyramidkvEntry } from './pyramidkv.js';
import { randomEntry } from './random.js';
import { randomShotEntry } from './random-shot.js';
import { rkvEntry } from './rkv.js';
import { shotkvEntry } from './shotkv.js';
import { snapkvEntry } from './snapkv.js';
import { streamingllmEntry } from './streamingllm.js';
import { tovaEntry } from './tova.js';

/** Every press by name; a new method adds its entry here (one file per method). */
export const pressRegistry: readonly PressEntry[] = [
  noneEntry,
  randomEntry,
  knormEntry,
  streamingllmEntry,
  h2oEntry,
  snapkvEntry,
  pyramidkvEntry,
  tovaEntry,
  expectedAttentionEntry,
  adakvEntry,
  chunkkvEntry,
  shotkvEntry,
  randomShotEntry,
  fastgenEntry,
  keydiffEntry,
  kvzipEntry,
  rkvEntry,
  duoAttentionEntry,
];

export function findPress(name: string): PressEntry {
  const e = pressRegistry.find((p) => p.name === name);
  if (!e) throw new RangeError(`unknown press '${name}'; known: ${pressRegistry.map((p) => p.name).join(', ')}`);
  return e;
}

/**
 * The entry's parameters with defaults filled in and types checked; strings (from the CLI) are
 * parsed to the type of the default.
 */
export function pressParams(entry: PressEntry, given: Record<string, ParamValue> = {}): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const k of Object.keys(given))
    if (!entry.params.some((p) => p.name === k))
      throw new RangeError(`press '${entry.name}' has no parameter '${k}'; it has: ${entry.params.map((p) => p.name).join(', ') || 'none'}`);
  for (const p of entry.params) out[p.name] = coerce(given[p.name] ?? p.default, p.default, `${entry.name}.${p.name}`);
  return out;
}

/** `ctx` gives presses that run the model (KVzip, DuoAttention) the model and its tokenizer. */
export function createPress(name: string, params: Record<string, ParamValue> = {}, ctx: PressContext = {}): Press {
  const entry = findPress(name);
  return entry.create(pressParams(entry, params), withDefaults, ctx);
}

function withDefaults(name: string): { entry: PressEntry; params: Record<string, ParamValue> } {
  const entry = findPress(name);
  return { entry, params: pressParams(entry) };
}

function coerce(v: ParamValue, like: ParamValue, name: string): ParamValue {
  if (typeof v === typeof like) return v;
  if (typeof v === 'string' && typeof like === 'number' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'string' && typeof like === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  throw new TypeError(`parameter ${name} must be a ${typeof like}, not ${JSON.stringify(v)}`);
}
