import type { KVCache } from './kv-cache.js';

/** Admission refused: the pool's byte budget cannot take the cache (now, or before the wait ran out). */
export class PoolFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolFullError';
  }
}

/**
 * Every admitted session cache under one global byte budget (design.md "Sessions, pool and prefix
 * reuse"). Each member is charged max(its bytes now, the bytes it reserved), so a session that
 * reserves room for its prompt and generation cannot overcommit the pool later.
 */
export class CachePool {
  private readonly members = new Map<KVCache, number>();
  private waiters: (() => void)[] = [];

  constructor(readonly budgetBytes: number) {
    if (!(Number.isSafeInteger(budgetBytes) && budgetBytes > 0)) throw new RangeError(`pool budget ${budgetBytes} must be a positive integer of bytes`);
  }

  /** Bytes charged to the members now. */
  used(): number {
    let b = 0;
    for (const [c, reserved] of this.members) b += Math.max(c.bytes(), reserved);
    return b;
  }

  /** Admits `cache` reserving `reserveBytes` (at least what it holds), or throws PoolFullError. */
  admit(cache: KVCache, reserveBytes = 0): void {
    if (!this.tryAdmit(cache, reserveBytes))
      throw new PoolFullError(`KV pool full: ${this.used()} of ${this.budgetBytes} bytes charged, ${Math.max(cache.bytes(), reserveBytes)} more requested`);
  }

  /** Admits once enough members are released; rejects with PoolFullError after `timeoutMs` or when the request alone exceeds the budget. */
  async admitWhenFree(cache: KVCache, reserveBytes = 0, timeoutMs = 30_000): Promise<void> {
    const need = Math.max(cache.bytes(), reserveBytes);
    if (need > this.budgetBytes) throw new PoolFullError(`KV pool: ${need} bytes requested exceed the whole budget of ${this.budgetBytes}`);
    const deadline = Date.now() + timeoutMs;
    while (!this.tryAdmit(cache, reserveBytes)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new PoolFullError(`KV pool: no room for ${need} bytes within ${timeoutMs} ms (${this.used()} of ${this.budgetBytes} charged)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Removes a member (its bytes return to the pool) and wakes waiting admissions. */
  release(cache: KVCache): void {
    if (!this.members.delete(cache)) return;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }

  has(cache: KVCache): boolean {
    return this.members.has(cache);
  }

  private tryAdmit(cache: KVCache, reserveBytes: number): boolean {
    if (this.members.has(cache)) throw new RangeError('cache already admitted to this pool');
    if (this.used() + Math.max(cache.bytes(), reserveBytes) > this.budgetBytes) return false;
    this.members.set(cache, reserveBytes);
    return true;
  }
}
