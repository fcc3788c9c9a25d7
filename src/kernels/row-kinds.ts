/**
 * How the rows of one product's x are summed, by kind and in this order (assembly/matmul.ts): `tile`
 * rows (a multiple of 4) in the GEMM's tiles, `stream` rows one weight row at a time, `single` rows on
 * the single-token path. A row's bits depend on its kind only, so a batch that gives each sequence's
 * rows the kinds its own forward would give them reproduces that forward exactly.
 */
export interface RowKinds {
  tile: number;
  stream: number;
  single: number;
}

/** The kinds of a forward of n tokens: the first 4·⌊n/4⌋ in tiles and the rest streamed, or a lone token on the single path. */
export function rowKindsOf(n: number): RowKinds {
  if (n === 1) return { tile: 0, stream: 0, single: 1 };
  const tile = n & ~3;
  return { tile, stream: n - tile, single: 0 };
}

/** The kind of row `i` of a forward of `n` tokens. */
export function rowKindAt(i: number, n: number): keyof RowKinds {
  return n === 1 ? 'single' : i < (n & ~3) ? 'tile' : 'stream';
}

export function rowCount(k: RowKinds): number {
  return k.tile + k.stream + k.single;
}
