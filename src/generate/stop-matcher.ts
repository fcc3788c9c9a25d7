/**
 * Streams text through a set of stop strings: holds back any tail that could still become a stop
 * string, and reports when one appears (returning only the text before it).
 */
export class StopMatcher {
  private pending = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): { text: string; stopped: boolean } {
    if (this.done) return { text: '', stopped: true };
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = s ? this.pending.indexOf(s) : -1;
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.done = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return { text: out, stopped: true };
    }
    let hold = 0;
    for (const s of this.stops)
      for (let k = Math.min(s.length - 1, this.pending.length); k > hold; k--)
        if (this.pending.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text: out, stopped: false };
  }

  /** Releases held-back text at the end of generation. */
  flush(): string {
    const out = this.done ? '' : this.pending;
    this.pending = '';
    return out;
  }
}
