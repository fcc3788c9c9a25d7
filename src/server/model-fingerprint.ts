import { createHash, type Hash } from 'node:crypto';
import type { Matrix } from '../kernels/matrix.js';
import type { Model } from '../model/model.js';

/** Bytes of a weight tensor hashed whole; a larger one is hashed in SAMPLES evenly spaced windows of SAMPLE_BYTES. */
const WHOLE_BYTES = 1 << 20;
const SAMPLES = 64;
const SAMPLE_BYTES = 4096;

const fingerprints = new WeakMap<Model, string>();

/**
 * What identifies a model for its KV caches: sha256 over its config (keys sorted) and each weight
 * tensor's shape, dtype and bytes as the kernels hold them — whole when small, else 256 KiB sampled
 * across it. Another model, or the same one in another dtype, gets another fingerprint; one changed
 * weight byte outside the samples does not. Computed once per model.
 */
export function modelFingerprint(model: Model): string {
  let f = fingerprints.get(model);
  if (f === undefined) {
    const h = createHash('sha256');
    h.update(canonicalJson(model.config));
    const w = model.weights;
    const tensors: [string, Matrix | Float32Array | undefined][] = [['embed', w.embed]];
    w.layers.forEach((l, i) => tensors.push(...Object.entries(l).map(([k, t]): [string, Matrix | Float32Array] => [`layers.${i}.${k}`, t])));
    tensors.push(['finalNorm', w.finalNorm], ['lmHead', w.lmHead]);
    for (const [name, t] of tensors) if (t) hashTensor(h, name, t);
    f = `sha256:${h.digest('hex')}`;
    fingerprints.set(model, f);
  }
  return f;
}

function hashTensor(h: Hash, name: string, t: Matrix | Float32Array): void {
  const bytes = t instanceof Float32Array ? new Uint8Array(t.buffer, t.byteOffset, t.byteLength) : t.data;
  const about = t instanceof Float32Array ? { n: t.length, dtype: 'f32' } : { rows: t.rows, cols: t.cols, dtype: t.dtype, sparse: t.sparse ?? null };
  h.update(canonicalJson({ name, ...about, bytes: bytes.byteLength }));
  if (bytes.byteLength <= WHOLE_BYTES) h.update(bytes);
  else
    for (let i = 0; i < SAMPLES; i++) {
      const at = Math.floor((i * (bytes.byteLength - SAMPLE_BYTES)) / (SAMPLES - 1));
      h.update(bytes.subarray(at, at + SAMPLE_BYTES));
    }
}

/** JSON with object keys sorted at every level, so the same config read from another format hashes the same. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
