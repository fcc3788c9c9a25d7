import { describeValue } from './describe-value.js';
import { FormatError } from './format-error.js';
import { checkSparse, parseSparseLayout, sparseLayoutLabel, SPARSE_VALUE_DTYPES, type SparseLayout } from './sparse-matrix.js';
import type { DType, RawTensor } from './tensor.js';

/**
 * The metadata entry (a string in safetensors' __metadata__ and in GGUF) that says which byte
 * tensors of a file are sparse matrices: JSON `{"version": 1, "tensors": {name: {"dtype", "shape",
 * "layout"}}}`. The blobs themselves are U8 (safetensors) or I8 (GGUF) tensors of shape [bytes].
 */
export const SPARSE_METADATA_KEY = 'kvtrim.sparse';
const VERSION = 1;

export interface SparseEntry {
  dtype: DType;
  shape: [number, number];
  layout: SparseLayout;
}

/** A byte tensor as a parser found it, before its metadata says what it is. */
export interface ByteTensor {
  name: string;
  data: Uint8Array;
}

/** The metadata value for a file holding these sparse tensors. */
export function sparseMetadata(entries: ReadonlyMap<string, SparseEntry>): string {
  const tensors: Record<string, unknown> = {};
  for (const [name, e] of entries) tensors[name] = { dtype: e.dtype, shape: e.shape, layout: sparseLayoutLabel(e.layout) };
  return JSON.stringify({ version: VERSION, tensors });
}

/**
 * The file's sparse matrices as RawTensors (value dtype, logical shape, the blob as `data`, `sparse`
 * set), each blob validated by `checkSparse`. Every byte tensor must be listed in the metadata and
 * every listed name must be a byte tensor; anything else is a FormatError.
 */
export function sparseTensors(file: string, blobs: readonly ByteTensor[], metadata: unknown): RawTensor[] {
  if (metadata === undefined) {
    if (blobs.length > 0) throw new FormatError(file, `byte tensor ${blobs[0]!.name} is not a weight, and the file has no ${SPARSE_METADATA_KEY} metadata saying it is a sparse matrix`);
    return [];
  }
  if (typeof metadata !== 'string') throw new FormatError(file, `${SPARSE_METADATA_KEY} is ${describeValue(metadata)}, not a JSON string`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata);
  } catch (e) {
    throw new FormatError(file, `${SPARSE_METADATA_KEY} is not valid JSON (${(e as Error).message})`);
  }
  const { version, tensors } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { version?: unknown; tensors?: unknown };
  if (version !== VERSION) throw new FormatError(file, `${SPARSE_METADATA_KEY} version ${describeValue(version)} is not supported (only ${VERSION})`);
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) throw new FormatError(file, `${SPARSE_METADATA_KEY} has no tensors object`);
  const byName = new Map(blobs.map((b) => [b.name, b]));
  const out: RawTensor[] = [];
  for (const [name, entry] of Object.entries(tensors)) {
    const blob = byName.get(name);
    if (!blob) throw new FormatError(file, `${SPARSE_METADATA_KEY} lists ${name}, which is not a byte tensor of this file`);
    byName.delete(name);
    const e = parseEntry(file, name, entry);
    checkSparse(file, name, e.dtype, e.shape[0], e.shape[1], e.layout, blob.data);
    out.push({ name, dtype: e.dtype, shape: [...e.shape], data: blob.data, sparse: e.layout });
  }
  const unlisted = byName.keys().next();
  if (!unlisted.done) throw new FormatError(file, `byte tensor ${unlisted.value} is not listed in ${SPARSE_METADATA_KEY}`);
  return out;
}

function parseEntry(file: string, name: string, entry: unknown): SparseEntry {
  const fail = (problem: string): never => {
    throw new FormatError(file, `sparse tensor ${name}: ${problem}`);
  };
  if (typeof entry !== 'object' || entry === null) fail(`entry ${describeValue(entry)} is not an object`);
  const { dtype, shape, layout } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !SPARSE_VALUE_DTYPES.includes(dtype as DType)) fail(`dtype ${describeValue(dtype)} is not one of ${SPARSE_VALUE_DTYPES.join(', ')}`);
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((s) => Number.isSafeInteger(s) && s >= 1) || !Number.isSafeInteger(shape[0] * shape[1]))
    fail(`shape ${describeValue(shape)} is not two positive integers`);
  const parsedLayout = typeof layout === 'string' ? parseSparseLayout(layout) : undefined;
  if (!parsedLayout) fail(`layout ${describeValue(layout)} is not 'unstructured' or n:m with m dividing 16`);
  return { dtype: dtype as DType, shape: shape as [number, number], layout: parsedLayout! };
}
