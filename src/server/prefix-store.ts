import { randomUUID } from 'node:crypto';
import type { KVCache } from '../cache/kv-cache.js';
import type { Reservation } from './kv-budget.js';

/** A prompt prefilled and compressed once (question-agnostic), kept for requests that continue it. */
export interface StoredPrefix {
  id: string;
  cache: KVCache;
  /** Prompt positions it covers (requests continue from here). */
  tokens: number;
  press: string | undefined;
  ratio: number;
  createdAt: number;
  /** Requests served over it so far. */
  hits: number;
  /** Its bytes in the KV budget, held while it is stored. */
  reservation: Reservation;
}

/** The stored prefixes by id. Dropping one frees its cache and gives its bytes back to the budget. */
export class PrefixStore {
  private readonly prefixes = new Map<string, StoredPrefix>();

  add(p: Omit<StoredPrefix, 'id' | 'createdAt' | 'hits'>): StoredPrefix {
    const stored: StoredPrefix = { ...p, id: `kvp-${randomUUID()}`, createdAt: Math.floor(Date.now() / 1000), hits: 0 };
    this.prefixes.set(stored.id, stored);
    return stored;
  }

  get(id: string): StoredPrefix | undefined {
    return this.prefixes.get(id);
  }

  list(): StoredPrefix[] {
    return [...this.prefixes.values()];
  }

  delete(id: string): boolean {
    const p = this.prefixes.get(id);
    if (!p) return false;
    this.prefixes.delete(id);
    p.cache.free();
    p.reservation.release();
    return true;
  }

  get size(): number {
    return this.prefixes.size;
  }

  bytes(): number {
    let b = 0;
    for (const p of this.prefixes.values()) b += p.cache.bytes();
    return b;
  }
}
