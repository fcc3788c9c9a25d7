import type { RopeScaling } from './model-config.js';
import { FormatError } from './format-error.js';

/**
 * llama.cpp stores Llama 3 rope scaling not as metadata but as a `rope_freqs` tensor: per rotary
 * frequency, the divisor r_i of its angle (1 for short wavelengths, `factor` for long ones, a smooth
 * blend between). These two functions convert between that tensor and our RopeScaling.
 */
export function llama3FreqFactors(s: RopeScaling, theta: number, headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const wavelen = (2 * Math.PI) / theta ** ((-2 * i) / headDim);
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    out[i] = wavelen < s.originalMaxPositions / s.highFreqFactor ? 1 : wavelen > s.originalMaxPositions / s.lowFreqFactor ? s.factor : 1 / ((1 - smooth) / s.factor + smooth);
  }
  return out;
}

/**
 * Recovers llama3 parameters from a rope_freqs tensor. In the blend region smooth_i is linear in
 * frequency (A·f_i + B); any (low, high, original) with the same A and B gives the same factors, so
 * low is fixed at 1. With no blend point (tiny head dims) the two wavelength thresholds are put
 * between the last unscaled and the first fully scaled frequency; with one, a consistent pair is
 * searched. The result is checked against every factor: other schemes are a FormatError.
 */
export function ropeScalingFromFreqFactors(r: Float32Array, theta: number, headDim: number, source: string): RopeScaling | undefined {
  if (r.length !== headDim / 2) throw new FormatError(source, `rope_freqs has ${r.length} values, expected ${headDim / 2}`);
  if (r.every((x) => Math.abs(x - 1) < 1e-6)) return undefined;
  const factor = Math.max(...r);
  const freq = (i: number) => theta ** ((-2 * i) / headDim);
  const blend: [number, number][] = [];
  const unscaled: number[] = [];
  const scaled: number[] = [];
  for (let i = 0; i < r.length; i++) {
    const x = r[i]!;
    if (x <= 1 + 1e-5) unscaled.push((2 * Math.PI) / freq(i));
    else if (x >= factor * (1 - 1e-5)) scaled.push((2 * Math.PI) / freq(i));
    else blend.push([freq(i), (1 / x - 1 / factor) / (1 - 1 / factor)]);
  }
  const unsupported = () => new FormatError(source, 'rope_freqs does not follow the Llama 3 scaling formula (not supported)');
  let fitted: RopeScaling;
  if (blend.length >= 2) {
    const [f0, s0] = blend[0]!;
    const [f1, s1] = blend[blend.length - 1]!;
    const a = (s1 - s0) / (f1 - f0);
    const b = s0 - a * f0;
    const highFreqFactor = 1 - 1 / b;
    if (!(b < 0 && a > 0 && Number.isFinite(highFreqFactor))) throw unsupported();
    fitted = { type: 'llama3', factor, lowFreqFactor: 1, highFreqFactor, originalMaxPositions: a * 2 * Math.PI * (highFreqFactor - 1) };
  } else if (blend.length === 0) {
    const w2 = Math.min(...scaled);
    const w1 = unscaled.length ? Math.max(...unscaled) : w2 / 16;
    if (!(w1 < w2)) throw unsupported();
    const [t1, t2] = [w1 * (w2 / w1) ** (1 / 3), w1 * (w2 / w1) ** (2 / 3)];
    fitted = { type: 'llama3', factor, lowFreqFactor: 1, highFreqFactor: t2 / t1, originalMaxPositions: t2 };
  } else {
    // One blend point: s = (orig/w - 1)/(high - 1) fixes orig for each high; shrink high towards 1
    // until the thresholds orig/high and orig also fall between the neighbouring wavelengths.
    const [fb, sb] = blend[0]!;
    const wb = (2 * Math.PI) / fb;
    const w1 = unscaled.length ? Math.max(...unscaled) : 0;
    const w2 = scaled.length ? Math.min(...scaled) : Infinity;
    let high = 4;
    const orig = () => wb * (1 + sb * (high - 1));
    for (let k = 0; k < 60 && !(orig() < w2 && orig() / high > w1); k++) high = 1 + (high - 1) / 2;
    fitted = { type: 'llama3', factor, lowFreqFactor: 1, highFreqFactor: high, originalMaxPositions: orig() };
  }
  // float32 storage blurs the fit (8191.97 for 8192): prefer round values when they fit as well.
  const round = (x: number, step: number) => Math.round(x / step) * step;
  const rounded: RopeScaling = { ...fitted, factor: round(factor, 1e-3), highFreqFactor: round(fitted.highFreqFactor, 1e-3), originalMaxPositions: Math.round(fitted.originalMaxPositions) };
  const fits = (s: RopeScaling) => llama3FreqFactors(s, theta, headDim).every((x, i) => Math.abs(x - r[i]!) <= 1e-4 * r[i]!);
  if (fits(rounded)) return rounded;
  if (fits(fitted)) return fitted;
  throw unsupported();
}
