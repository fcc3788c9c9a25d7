/** Why a reservation was not granted: larger than the whole budget, no room before the wait ran out, or the wait was called off. */
export type RefusalReason = 'too-large' | 'timeout' | 'cancelled' | 'closed';

export class BudgetRefusal extends Error {
  override readonly name = 'BudgetRefusal';

  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes a granted reservation holds in the budget; it can only shrink, and gives them back once. */
export class Reservation {
  private released = false;

  constructor(
    private readonly budget: KvBudget,
    private held: number,
  ) {}

  get bytes(): number {
    return this.released ? 0 : this.held;
  }

  /** Lowers the reservation to `bytes` (what the sequence can still grow to, once it is known); never raises it. */
  shrink(bytes: number): void {
    if (this.released || bytes >= this.held) return;
    const freed = this.held - bytes;
    this.held = bytes;
    this.budget.giveBack(freed);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.giveBack(this.held);
  }
}

interface Waiter {
  bytes: number;
  grant(r: Reservation): void;
  refuse(e: BudgetRefusal): void;
}

/**
 * One KV byte budget shared by every sequence and stored prefix. A request reserves what it can grow
 * to before it runs, so the sum of reservations — and the bytes the caches hold, which never pass
 * their reservations — stays within the budget. Requests that do not fit wait first in, first out:
 * a later small request does not overtake an earlier large one (it would starve it).
 */
export class KvBudget {
  private usedBytes = 0;
  private peakBytes = 0;
  private readonly queue: Waiter[] = [];
  private queueChanged: (() => void) | undefined;

  constructor(readonly totalBytes: number) {
    if (!(Number.isSafeInteger(totalBytes) && totalBytes > 0)) throw new RangeError(`KV budget ${totalBytes} must be a positive integer of bytes`);
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.usedBytes;
  }

  /** The most bytes ever reserved at once. */
  get peak(): number {
    return this.peakBytes;
  }

  /** Requests waiting for room. */
  get waiting(): number {
    return this.queue.length;
  }

  /** What each waiting request asks for, first in line first. */
  waitingBytes(): number[] {
    return this.queue.map((w) => w.bytes);
  }

  /** Calls `listener` whenever a request joins the line, or room comes back or a waiter leaves (granted, timed out, cancelled). */
  onQueueChange(listener: () => void): void {
    this.queueChanged = listener;
  }

  /**
   * Reserves `bytes`: at once when nothing waits and they fit, else after every earlier waiter, within
   * `timeoutMs`. Refuses at once a request larger than the whole budget.
   */
  reserve(bytes: number, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<Reservation> {
    if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new RangeError(`reservation of ${bytes} bytes must be a non-negative integer`);
    if (bytes > this.totalBytes)
      return Promise.reject(new BudgetRefusal('too-large', `needs ${bytes} KV bytes, more than the server's whole budget of ${this.totalBytes}`));
    if (this.queue.length === 0 && this.fits(bytes)) return Promise.resolve(this.grant(bytes));
    return new Promise<Reservation>((resolve, reject) => {
      const leave = (e: BudgetRefusal) => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        reject(e);
        this.drain(); // a large waiter leaving the head may unblock smaller ones behind it
      };
      const onAbort = () => leave(new BudgetRefusal('cancelled', 'the request was cancelled while waiting for KV room'));
      const timer = setTimeout(
        () => leave(new BudgetRefusal('timeout', `no room for ${bytes} KV bytes within ${opts.timeoutMs} ms (${this.usedBytes} of ${this.totalBytes} reserved)`)),
        opts.timeoutMs,
      );
      const waiter: Waiter = {
        bytes,
        grant: (r) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        refuse: leave,
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      if (opts.signal?.aborted) onAbort();
      else this.queueChanged?.();
    });
  }

  /** Refuses every waiting request (the server is shutting down). */
  refuseWaiting(message: string): void {
    for (const w of [...this.queue]) w.refuse(new BudgetRefusal('closed', message));
  }

  /** Called by a reservation that shrank or was released. */
  giveBack(bytes: number): void {
    this.usedBytes -= bytes;
    this.drain();
  }

  private fits(bytes: number): boolean {
    return this.usedBytes + bytes <= this.totalBytes;
  }

  private grant(bytes: number): Reservation {
    this.usedBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.usedBytes);
    return new Reservation(this, bytes);
  }

  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) {
      const w = this.queue.shift()!;
      w.grant(this.grant(w.bytes));
    }
    this.queueChanged?.();
  }
}
