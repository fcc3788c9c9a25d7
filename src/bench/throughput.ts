/** What one engine achieved on one model file: the numbers `kvtrim bench` prints and compares. */
export interface Throughput {
  prefill_tps: number;
  /** Decode tokens per second over all sequences: their tokens ÷ wall time. */
  decode_tps: number;
  /** Wall time of one decode step (every sequence's next token), in ms. */
  step_ms: number;
  peak_rss_mb: number;
}

export interface ThroughputOptions {
  threads: number;
  promptTokens: number;
  genTokens: number;
  /** Sequences decoding together (default 1), each with its own prompt and cache. */
  batch?: number;
  /** kvtrim only: run prefill products on the native (onnxruntime) GEMM when installed (default false). */
  nativeGemm?: boolean;
}

export type Engine = 'kvtrim' | 'llamacpp';

/** The prompt both engines give sequence `seq`: fixed pseudo-random ids past the first 259 (control and byte tokens where a vocabulary has them). */
export function benchPrompt(n: number, vocabSize: number, seq = 0): number[] {
  const lo = vocabSize > 1000 ? 259 : 0;
  return Array.from({ length: n }, (_, i) => lo + ((i * 7919 + 13 + seq * 104729) % (vocabSize - lo)));
}

/** Peak resident set of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
