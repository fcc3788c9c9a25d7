import { TENSOR_NAMES } from '../formats/checkpoint.js';
import type { DType } from '../formats/tensor.js';
import { f32ToBf16 } from '../formats/writers/encode-tensor.js';
import { bf16ToF32, f16ToF32, f32ToF16 } from '../formats/dequant.js';
import { matrixToFloat32 } from '../formats/sparse-matrix.js';
import type { LinearName } from '../model/hooks.js';
import type { Model } from '../model/model.js';
import type { LayerWeights } from '../model/weights.js';
import { dampedInverseFactor } from './cholesky.js';
import { HessianAccumulator } from './hessian.js';
import { magnitudePrune } from './magnitude.js';
import { gridOf, packQuantized, QUANT_BLOCK, roundToGrid, type PruneQuant, type QuantGrid } from './quant-grid.js';
import { relativeReconstructionError } from './reconstruction-error.js';
import { sparseGptQuantizedSweep, sparseGptSweep } from './sparsegpt.js';
import { checkPatternFits, type SparsityPattern } from './sparsity-pattern.js';

export type PruneMethod = 'sparsegpt' | 'magnitude';

export interface PruneModelOptions {
  method: PruneMethod;
  pattern: SparsityPattern;
  /** SparseGPT column block size (128). */
  blockSize?: number;
  /** SparseGPT damping as a fraction of mean(diag H) (0.01). */
  percDamp?: number;
  /** Prune q/k/v, then o, then gate/up, then down, each on inputs from the already pruned ones (one extra calibration pass per group). */
  trueSequential?: boolean;
  /**
   * Also quantise the kept weights to q8_0 / q4_0 (matrices whose inputs are whole 32-blocks; others
   * stay float): SparseGPT rounds each as it fixes it and compensates the rounding error; magnitude
   * pruning rounds the pruned matrix to nearest.
   */
  quantize?: PruneQuant;
  /** Measure each matrix's reconstruction error (default true; costs about as much as the SparseGPT sweep). */
  measureError?: boolean;
  /** Called after each matrix is pruned. */
  onMatrix?(report: MatrixPruneReport): void;
}

export interface MatrixPruneReport {
  /** Canonical tensor name, e.g. model.layers.0.self_attn.q_proj.weight. */
  name: string;
  layer: number;
  rows: number;
  cols: number;
  zeros: number;
  /** zeros / (rows · cols). */
  sparsity: number;
  /** ‖(W − Ŵ)X‖² / ‖WX‖² on the calibration inputs this matrix saw; undefined without calibration or when not measured. */
  relError?: number;
  /** SparseGPT: the damping that made H positive definite, and how many ×10 retries it took. */
  percDamp?: number;
  retries?: number;
  /** The block format the kept weights were quantised to, when they were. */
  quantized?: PruneQuant;
}

export interface PruneModelResult {
  matrices: MatrixPruneReport[];
  /** Pruned weights by canonical tensor name, float32 rows × cols (also installed in the model). */
  weights: Map<string, Float32Array>;
  /** The quantised matrices' q8_0 / q4_0 bytes by name (`weights` holds what they decode to, exactly). */
  quantized: Map<string, { dtype: PruneQuant; bytes: Uint8Array }>;
}

type LinearKey = 'wq' | 'wk' | 'wv' | 'wo' | 'wGate' | 'wUp' | 'wDown';
/** The weight matrices that read each hooked input. */
const GROUP_MATRICES: Record<LinearName, LinearKey[]> = { qkv: ['wq', 'wk', 'wv'], o: ['wo'], gateUp: ['wGate', 'wUp'], down: ['wDown'] };
const GROUP_ORDER: LinearName[] = ['qkv', 'o', 'gateUp', 'down'];

/**
 * Prunes every linear layer of every transformer block (embeddings and the classifier stay dense),
 * block by block as SparseGPT does: the calibration sequences' hidden states enter block l, its
 * Hessians are accumulated and its matrices pruned, and the block's outputs are recomputed with the
 * pruned weights to become block l+1's inputs. The pruned weights replace the model's in place.
 * Magnitude pruning needs no calibration; with calibration it also reports reconstruction errors.
 */
export function pruneModel(model: Model, calibration: readonly (readonly number[])[], opts: PruneModelOptions): PruneModelResult {
  const c = model.config;
  if (opts.method === 'sparsegpt' && calibration.length === 0) throw new RangeError('SparseGPT needs calibration sequences');
  for (const seq of calibration)
    if (seq.length === 0 || seq.length > c.maxSeqLen) throw new RangeError(`calibration sequences need 1…${c.maxSeqLen} tokens, got ${seq.length}`);
  for (const key of Object.values(GROUP_MATRICES).flat()) checkPatternFits(opts.pattern, model.weights.layers[0]![key].cols);

  const matrices: MatrixPruneReport[] = [];
  const weights = new Map<string, Float32Array>();
  const quantized: PruneModelResult['quantized'] = new Map();
  // Calibration activations are only needed for SparseGPT's Hessians or for measuring errors.
  const calibrate = calibration.length > 0 && (opts.method === 'sparsegpt' || opts.measureError !== false);
  const hidden = calibrate ? calibration.map((seq) => model.embed(seq)) : [];
  const runLayer = (l: number, states: Float32Array, seqIndex: number, onInput?: (name: LinearName, x: Float32Array, n: number) => void) =>
    model.layerForward(l, states, calibration[seqIndex]!.length, model.newCache(), 0, onInput && { onLinearInput: (_layer, name, x, n) => onInput(name, x, n) });

  for (let l = 0; l < c.nLayers; l++) {
    const layer = model.weights.layers[l]!;
    const stages = opts.trueSequential ? GROUP_ORDER.map((g) => [g]) : [GROUP_ORDER];
    for (const stage of stages) {
      const hessians = new Map<LinearName, Float64Array>();
      if (calibrate) {
        const acc = new Map(stage.map((g) => [g, new HessianAccumulator(layer[GROUP_MATRICES[g][0]!].cols)]));
        hidden.forEach((h, s) => runLayer(l, h.slice(), s, (name, x, n) => acc.get(name)?.add(x, n)));
        for (const [g, a] of acc) hessians.set(g, a.hessian());
      }
      for (const g of stage) {
        const h = hessians.get(g);
        const factor = opts.method === 'sparsegpt' ? dampedInverseFactor(h!, layer[GROUP_MATRICES[g][0]!].cols, { percDamp: opts.percDamp }) : undefined;
        for (const key of GROUP_MATRICES[g]) {
          const m = layer[key];
          const w = Float64Array.from(matrixToFloat32(m));
          const w0 = h && opts.measureError !== false ? Float64Array.from(w) : undefined;
          const quant = opts.quantize !== undefined && m.cols % QUANT_BLOCK === 0 ? opts.quantize : undefined;
          let grid: QuantGrid | undefined;
          if (factor) {
            if (quant) grid = sparseGptQuantizedSweep(w, m.rows, m.cols, factor, opts.pattern, opts.blockSize, quant);
            else sparseGptSweep(w, m.rows, m.cols, factor, opts.pattern, opts.blockSize);
          } else {
            magnitudePrune(w, m.rows, m.cols, opts.pattern);
            if (quant) roundToGrid(w, (grid = gridOf(quant, w)));
          }
          const name = TENSOR_NAMES.layer(l)[key];
          // On the grid, every value is exact in float32.
          const f32 = grid ? Float32Array.from(w) : roundedLike(m.dtype, w);
          if (quant && grid) {
            const bytes = packQuantized(w, grid);
            quantized.set(name, { dtype: quant, bytes });
            // Later layers calibrate on the quantised matrix as the saved model will run it.
            layer[key] = model.backend.prepare({ rows: m.rows, cols: m.cols, dtype: quant, data: bytes });
          } else install(model, layer, key, f32);
          weights.set(name, f32);
          const zeros = f32.reduce((z, v) => (v === 0 ? z + 1 : z), 0);
          const report: MatrixPruneReport = {
            name,
            layer: l,
            rows: m.rows,
            cols: m.cols,
            zeros,
            sparsity: zeros / f32.length,
            ...(w0 && h ? { relError: relativeReconstructionError(w0, Float64Array.from(f32), m.rows, m.cols, h) } : {}),
            ...(factor ? { percDamp: factor.percDamp, retries: factor.retries } : {}),
            ...(quant ? { quantized: quant } : {}),
          };
          matrices.push(report);
          opts.onMatrix?.(report);
        }
      }
    }
    if (calibrate && l + 1 < c.nLayers) hidden.forEach((h, s) => runLayer(l, h, s));
  }
  return { matrices, weights, quantized };
}

/** Pruned weights as float32, rounded to the source's f16 / bf16 so the next layer sees what will be saved. */
function roundedLike(dtype: DType, w: Float64Array): Float32Array {
  const out = Float32Array.from(w);
  if (dtype === 'f16') for (let i = 0; i < out.length; i++) out[i] = f16ToF32(f32ToF16(out[i]!));
  if (dtype === 'bf16') for (let i = 0; i < out.length; i++) out[i] = bf16ToF32(f32ToBf16(out[i]!));
  return out;
}

function install(model: Model, layer: LayerWeights, key: LinearKey, w: Float32Array): void {
  const old = layer[key];
  layer[key] = model.backend.prepare({ rows: old.rows, cols: old.cols, dtype: 'f32', data: new Uint8Array(w.buffer, w.byteOffset, w.byteLength) });
}
