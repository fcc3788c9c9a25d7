import { DTYPE_LAYOUT, type DType } from '../tensor.js';

/** File-wide quantisation recipes that choose a dtype per tensor, as llama-quantize's ftypes do. */
export type QuantMix = 'q4_k_m';

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between. */
const moreBits = (layer: number, nLayers: number) => layer < nLayers / 8 || layer >= (7 * nLayers) / 8 || (layer - Math.floor(nLayers / 8)) % 3 === 2;

/** What a K-quant becomes when a row is not whole 256-element super-blocks (llama.cpp's fallbacks). */
const FALLBACK: Partial<Record<DType, DType>> = { q4_k: 'q5_0', q6_k: 'q8_0' };

/** The dtype a matrix of `cols` columns is stored in when `dtype` is asked for: its fallback when the rows are not whole blocks, else `otherwise`. */
export function storedDtype(dtype: DType, cols: number, otherwise: DType = 'f32'): DType {
  if (cols % DTYPE_LAYOUT[dtype].blockElems === 0) return dtype;
  const next = FALLBACK[dtype];
  return next && cols % DTYPE_LAYOUT[next].blockElems === 0 ? next : otherwise;
}

/**
 * The dtype llama-quantize gives a matrix under Q4_K_M (llama-quant.cpp's llama_tensor_get_type,
 * no importance matrix): q6_K for the output head (the token embedding when tied) and for attn_v
 * and ffn_down in the use_more_bits layers, q4_K elsewhere; the output head is q8_0 when its rows
 * are not whole super-blocks, other K-quants fall back to q5_0/q8_0, then to f16.
 */
export function q4kmDtype(ggufName: string, cols: number, nLayers: number, hasOutput: boolean): DType {
  const layer = /^blk\.(\d+)\./.exec(ggufName);
  let t: DType = 'q4_k';
  if (ggufName === 'output.weight' || (!hasOutput && ggufName === 'token_embd.weight')) {
    if (cols % 256 !== 0) return 'q8_0';
    t = 'q6_k';
  } else if (layer && (ggufName.endsWith('.attn_v.weight') || ggufName.endsWith('.ffn_down.weight')) && moreBits(Number(layer[1]), nLayers)) t = 'q6_k';
  return storedDtype(t, cols, 'f16');
}
