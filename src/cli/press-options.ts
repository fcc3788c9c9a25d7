import type { Command } from 'commander';
import { checkKvQuant, kvQuantDefaults, type KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { CompressionOptions } from '../press/compression.js';
import type { Press } from '../press/press.js';
import type { PressContext } from '../press/press-context.js';
import { createPress } from '../press/registry.js';
import { numberFlag } from './model-options.js';

export interface PressFlags {
  press?: string;
  ratio?: number;
  pressParam?: string[];
  decodePress?: string;
  decodeRatio?: number;
  decodeInterval?: number;
  kvQuant?: string;
  kvGroup: number;
  kvResidual: number;
}

/** The KV compression flags shared by commands that prefill a prompt. */
export function addPressOptions(cmd: Command): Command {
  return cmd
    .option('--press <name>', 'KV cache compression applied after prefill (see `kvtrim presses`)')
    .option('--ratio <r>', 'fraction of the prompt KV entries the press removes, 0…1 (default 0.5 with --press)', numberFlag('ratio'))
    .option('--press-param <key=value...>', 'press parameters, e.g. window=16')
    .option('--decode-press <name>', 'compression applied while decoding (e.g. h2o)')
    .option('--decode-ratio <r>', 'decoding budget: keep (1 − r) × prompt length entries per head (default 0.5)', numberFlag('decode-ratio'))
    .option('--decode-interval <n>', 'run the decoding press every n tokens', numberFlag('decode-interval'), 1)
    .option('--kv-quant <int8|int4>', 'store the KV cache KIVI-quantised (keys per channel, values per token)')
    .option('--kv-group <n>', 'KIVI group size', numberFlag('kv-group'), kvQuantDefaults.group)
    .option('--kv-residual <n>', 'KIVI full-precision recent window (a multiple of the group)', numberFlag('kv-residual'), kvQuantDefaults.residual);
}

/** The KIVI storage the flags ask for, if any. */
export function kvQuantOption(flags: PressFlags): KvQuantOptions | undefined {
  if (flags.kvQuant === undefined) return undefined;
  if (flags.kvQuant !== 'int8' && flags.kvQuant !== 'int4') throw new Error(`--kv-quant expects int8 or int4, got '${flags.kvQuant}'`);
  return checkKvQuant({ bits: flags.kvQuant === 'int8' ? 8 : 4, group: flags.kvGroup, residual: flags.kvResidual });
}

/**
 * The compression the flags ask for (press parameters apply to --press); `presses` gives the presses
 * that run the model (KVzip, DuoAttention) their model and lets them read the files their parameters name.
 */
export function pressOptions(flags: PressFlags, presses: PressContext): CompressionOptions & { press?: Press } {
  if (flags.ratio !== undefined && !flags.press) throw new Error('--ratio needs --press');
  const press: Press | undefined = flags.press ? createPress(flags.press, parseParams(flags.pressParam ?? []), presses) : undefined;
  if (flags.decodeRatio !== undefined && !flags.decodePress && !press?.decoding)
    throw new Error('--decode-ratio needs --decode-press (or a --press with its own decoding phase, e.g. shotkv)');
  return {
    press,
    ratio: flags.ratio ?? (press ? 0.5 : undefined),
    decodePress: flags.decodePress,
    decodeRatio: flags.decodeRatio ?? (flags.decodePress ? 0.5 : undefined),
    decodeInterval: flags.decodeInterval,
  };
}

function parseParams(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`--press-param expects key=value, got '${p}'`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
