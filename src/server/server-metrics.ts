/** Upper bounds (seconds) of the time-to-first-token histogram's buckets. */
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Tokens per second are averaged over this trailing window. */
const RATE_WINDOW_MS = 10_000;

/** Gauges read at scrape time from the parts that own them. */
export interface MetricGauges {
  queueDepth: number;
  runningSequences: number;
  kvBytesReserved: number;
  kvBytesReservedPeak: number;
  kvBytesHeld: number;
  kvBytesBudget: number;
  prefixes: number;
  prefixBytes: number;
  engineSteps: number;
}

/** The server's counters and histogram, rendered in Prometheus' text format. */
export class ServerMetrics {
  private readonly byStatus = new Map<number, number>();
  private readonly ttftCounts = new Array<number>(TTFT_BUCKETS.length + 1).fill(0);
  private ttftSum = 0;
  private ttftCount = 0;
  private promptTokens = 0;
  private generatedTokens = 0;
  private prefixHits = 0;
  private peakHeld = 0;
  private cancelLagMax = 0;
  private pressureSequences = 0;
  private pressureCaps = 0;
  /** Generation times (ms) of recent tokens, oldest first, for the trailing rate. */
  private recentTokens: number[] = [];

  request(status: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  firstToken(seconds: number): void {
    const i = TTFT_BUCKETS.findIndex((b) => seconds <= b);
    this.ttftCounts[i < 0 ? TTFT_BUCKETS.length : i]!++;
    this.ttftSum += seconds;
    this.ttftCount++;
  }

  /** One generated token, with the KV bytes held right after it (the peak is what /metrics shows against the budget). */
  token(heldBytes: number, now = performance.now()): void {
    this.generatedTokens++;
    this.recentTokens.push(now);
    if (this.recentTokens.length % 4096 === 0) this.dropOldTokens(now);
    this.peakHeld = Math.max(this.peakHeld, heldBytes);
  }

  prefilled(tokens: number, heldBytes: number): void {
    this.promptTokens += tokens;
    this.peakHeld = Math.max(this.peakHeld, heldBytes);
  }

  prefixHit(): void {
    this.prefixHits++;
  }

  /** A sequence that ended after `caps` caps under pressure (`--on-pressure compress`). */
  compressedUnderPressure(caps: number): void {
    this.pressureSequences++;
    this.pressureCaps += caps;
  }

  cancelled(lagSteps: number): void {
    this.cancelLagMax = Math.max(this.cancelLagMax, lagSteps);
  }

  private dropOldTokens(now: number): void {
    const cut = this.recentTokens.findIndex((t) => t >= now - RATE_WINDOW_MS);
    this.recentTokens = cut < 0 ? [] : this.recentTokens.slice(cut);
  }

  render(g: MetricGauges, now = performance.now()): string {
    this.dropOldTokens(now);
    const lines: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    metric('kvtrim_queue_depth', 'gauge', 'Requests waiting for KV room.', g.queueDepth);
    metric('kvtrim_running_sequences', 'gauge', 'Sequences being prefilled or decoded.', g.runningSequences);
    metric('kvtrim_kv_bytes_budget', 'gauge', 'The KV byte budget.', g.kvBytesBudget);
    metric('kvtrim_kv_bytes_reserved', 'gauge', 'KV bytes reserved by running sequences and stored prefixes.', g.kvBytesReserved);
    metric('kvtrim_kv_bytes_reserved_peak', 'gauge', 'The most KV bytes ever reserved at once.', g.kvBytesReservedPeak);
    metric('kvtrim_kv_bytes_used', 'gauge', 'KV bytes the caches of running sequences and stored prefixes hold.', g.kvBytesHeld);
    metric('kvtrim_kv_bytes_used_peak', 'gauge', 'The most KV bytes held at once, sampled at every token.', Math.max(this.peakHeld, g.kvBytesHeld));
    metric('kvtrim_prefixes', 'gauge', 'Stored KV prefixes.', g.prefixes);
    metric('kvtrim_prefix_bytes', 'gauge', 'KV bytes the stored prefixes hold.', g.prefixBytes);
    metric('kvtrim_prefix_hits_total', 'counter', 'Requests served over a stored prefix.', this.prefixHits);
    metric('kvtrim_engine_steps_total', 'counter', 'Engine steps run.', g.engineSteps);
    metric('kvtrim_prompt_tokens_total', 'counter', 'Prompt tokens prefilled.', this.promptTokens);
    metric('kvtrim_generated_tokens_total', 'counter', 'Tokens generated.', this.generatedTokens);
    metric('kvtrim_tokens_per_second', 'gauge', `Tokens generated per second over the last ${RATE_WINDOW_MS / 1000} s.`, this.recentTokens.length / (RATE_WINDOW_MS / 1000));
    metric('kvtrim_cancel_lag_steps_max', 'gauge', "The most engine steps between a client leaving and its sequence's cache being freed.", this.cancelLagMax);
    metric('kvtrim_pressure_compressed_total', 'counter', 'Finished sequences whose cache was compressed to admit other requests.', this.pressureSequences);
    metric('kvtrim_pressure_caps_total', 'counter', 'Caps those sequences got (a sequence may be capped again, tighter).', this.pressureCaps);
    metric('process_resident_memory_bytes', 'gauge', "The server process's resident set size.", process.memoryUsage.rss());
    lines.push('# HELP kvtrim_requests_total Requests answered, by HTTP status.', '# TYPE kvtrim_requests_total counter');
    for (const [status, n] of [...this.byStatus].sort((a, b) => a[0] - b[0])) lines.push(`kvtrim_requests_total{status="${status}"} ${n}`);
    lines.push('# HELP kvtrim_ttft_seconds Time from request to first generated token.', '# TYPE kvtrim_ttft_seconds histogram');
    let cum = 0;
    TTFT_BUCKETS.forEach((b, i) => lines.push(`kvtrim_ttft_seconds_bucket{le="${b}"} ${(cum += this.ttftCounts[i]!)}`));
    lines.push(`kvtrim_ttft_seconds_bucket{le="+Inf"} ${this.ttftCount}`, `kvtrim_ttft_seconds_sum ${this.ttftSum}`, `kvtrim_ttft_seconds_count ${this.ttftCount}`);
    return lines.join('\n') + '\n';
  }
}
