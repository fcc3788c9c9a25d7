import type { HeatmapData } from '../inspect/heatmap-data.js';

/** A file the page hands the engine: its path inside the dropped folder (or the embedded model's) and its bytes, unread. */
export interface PageFile {
  path: string;
  file: Blob;
}

/** What the page asks of the engine worker. */
export type ToEngine =
  | { type: 'load'; name: string; files: PageFile[]; kernels: ArrayBuffer }
  | {
      type: 'run';
      prompt: string;
      maxTokens: number;
      /** Split the prompt into shots and a question on this separator (shot-aware presses, per-segment statistics); absent: plain text. */
      shotSeparator?: string;
      /** Presses whose kept/evicted overlays are drawn side by side, all at `ratio`. */
      presses: string[];
      ratio: number;
      /** The press generation runs with, or none for the full cache. */
      generateWith?: string;
    };

/** KV cache bytes a press kept of the prompt, against the full cache. */
export interface KvBytes {
  press: string;
  kept: number;
  full: number;
}

/** What the engine worker tells the page. */
export type FromEngine =
  | { type: 'loaded'; name: string; layers: number; heads: number; kvHeads: number; threads: number; isolated: boolean; presses: string[] }
  | { type: 'token'; id: number; text: string }
  | { type: 'generated'; ids: number[]; kv: KvBytes; decodeMs: number }
  | { type: 'inspected'; data: HeatmapData; kv: KvBytes[] }
  | { type: 'error'; message: string };
