import type { Segment } from '../press/segment.js';
import { Session } from '../generate/session.js';
import type { Model } from '../model/model.js';
import type { Press } from '../press/press.js';
import { createPress } from '../press/registry.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { captureAttention, type CaptureOptions } from './attention-capture.js';
import { heatmapData, type HeatmapData } from './heatmap-data.js';
import { pressKept } from './press-kept.js';

export interface InspectOptions extends Omit<CaptureOptions, 'segments'> {
  title?: string;
  modelName?: string;
  /** Presses to run on the same prompt at `ratio`: registry names or press objects. */
  presses?: readonly (string | Press)[];
  ratio?: number;
}

/**
 * Everything the heatmap page shows, as JSON-ready data: the attention capture of a prompt (plain
 * text, or segments whose token ranges feed the per-segment statistics and the presses) and what
 * each chosen press kept of it. Prompts are tokenised and presses run by `Session.prefill`, exactly
 * as generation and the study do.
 */
export function inspectPrompt(model: Model, tokenizer: Tokenizer, prompt: string | readonly Segment[], opts: InspectOptions = {}): HeatmapData {
  const text = typeof prompt === 'string' ? prompt : prompt.map((s) => s.text).join('');
  const segments = typeof prompt === 'string' ? undefined : prompt;
  const ratio = opts.ratio ?? 0.5;
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`inspectPrompt: ratio must be in [0, 1), got ${ratio}`);
  const full = new Session(model, tokenizer);
  // one recorded prefill gives the ids, the segment ranges and every press's cache (see Session.record)
  const record = full.record(text, segments);
  const ids = full.cache.tokens;
  const capture = captureAttention(model, ids, { ...opts, segments: full.segments });
  const presses = (opts.presses ?? []).map((p) => {
    const press = typeof p === 'string' ? createPress(p) : p;
    const s = new Session(model, tokenizer, { compression: { press, ratio } });
    s.prefill(text, { segments, from: record });
    return pressKept(s.cache, press, ratio);
  });
  return heatmapData({ title: opts.title, modelName: opts.modelName ?? 'model', config: model.config, tokenizer, ids, capture, presses });
}
