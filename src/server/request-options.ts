import { checkKvQuant, kvQuantDefaults, type KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { GenerateOptions } from '../generate/session.js';
import { checkBudget } from '../press/budget.js';
import { Compression } from '../press/compression.js';
import type { Press } from '../press/press.js';
import type { PressContext } from '../press/press-context.js';
import type { ParamValue } from '../press/registry-entry.js';
import { createPress, findPress } from '../press/registry.js';
import { badField } from './api-error.js';

/** The sampling fields of a completion or chat request (already schema-checked). */
export interface SamplingFields {
  temperature?: number;
  top_p?: number;
  stop?: string | string[] | null;
  seed?: number;
}

/** The kvtrim compression extension fields. */
export interface CompressionFields {
  kv_press?: string;
  kv_ratio?: number;
  kv_decode_press?: string;
  kv_decode_ratio?: number;
  kv_press_params?: Record<string, ParamValue>;
  kv_quant?: 'int8' | 'int4';
  kv_prefix?: string;
}

/**
 * OpenAI sampling as the session takes it. OpenAI's default temperature is 1; without a seed a
 * sampled request draws one (a seed makes it repeatable; temperature 0 is greedy either way).
 */
export function generateOptions(body: SamplingFields, maxTokens: number): GenerateOptions {
  const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    maxTokens,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    seed: body.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop,
  };
}

/**
 * A request's compression policy and KV storage; each mistake is a 400 naming its field. Presses that
 * run the model get it from `presses`; no file reader is given, so a request cannot name a server file.
 */
export function compressionOptions(body: CompressionFields, presses: PressContext): { compression: Compression; kvQuant: KvQuantOptions | undefined } {
  if (body.kv_ratio !== undefined && body.kv_press === undefined) throw badField('kv_ratio', 'needs kv_press');
  if (body.kv_press_params !== undefined && body.kv_press === undefined) throw badField('kv_press_params', 'needs kv_press');
  let press: Press | undefined;
  if (body.kv_press !== undefined) {
    knownPress('kv_press', body.kv_press);
    try {
      press = createPress(body.kv_press, body.kv_press_params ?? {}, presses);
    } catch (e) {
      throw badField('kv_press_params', (e as Error).message);
    }
  }
  const ratio = body.kv_ratio ?? (press ? 0.5 : undefined);
  if (ratio !== undefined) checkedRatio('kv_ratio', ratio);
  if (body.kv_decode_press !== undefined) knownPress('kv_decode_press', body.kv_decode_press);
  if (body.kv_decode_ratio !== undefined) {
    checkedRatio('kv_decode_ratio', body.kv_decode_ratio);
    if (body.kv_decode_press === undefined && !press?.decoding)
      throw badField('kv_decode_ratio', 'needs kv_decode_press (or a kv_press with its own decoding phase, e.g. shotkv)');
  }
  const decodeRatio = body.kv_decode_ratio ?? (body.kv_decode_press !== undefined ? 0.5 : undefined);
  let compression: Compression;
  try {
    compression = new Compression({ press, ratio, decodePress: body.kv_decode_press, decodeRatio }, presses);
  } catch (e) {
    throw badField('kv_press', (e as Error).message);
  }
  const kvQuant = body.kv_quant === undefined ? undefined : checkKvQuant({ bits: body.kv_quant === 'int8' ? 8 : 4, ...kvQuantDefaults });
  return { compression, kvQuant };
}

function knownPress(field: string, name: string): void {
  try {
    findPress(name);
  } catch (e) {
    throw badField(field, (e as Error).message);
  }
}

function checkedRatio(field: string, ratio: number): void {
  try {
    checkBudget({ ratio });
  } catch (e) {
    throw badField(field, (e as Error).message);
  }
}
