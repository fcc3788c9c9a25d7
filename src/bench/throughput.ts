/** What one engine achieved on one model file: the numbers `kvtrim bench` prints and compares. */
export interface Throughput {
  prefill_tps: number;
  decode_tps: number;
  peak_rss_mb: number;
}

export interface ThroughputOptions {
  threads: number;
  promptTokens: number;
  genTokens: number;
  /** kvtrim only: allow the native (onnxruntime) GEMM for prefill when installed (default true). */
  nativeGemm?: boolean;
}

export type Engine = 'kvtrim' | 'llamacpp';

/** The prompt both engines get: fixed pseudo-random ids past the first 259 (control and byte tokens where a vocabulary has them). */
export function benchPrompt(n: number, vocabSize: number): number[] {
  const lo = vocabSize > 1000 ? 259 : 0;
  return Array.from({ length: n }, (_, i) => lo + ((i * 7919 + 13) % (vocabSize - lo)));
}

/** Peak resident set of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
