import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { calibrationFromModel, calibrationFromTokens, rankDeficiencyWarning } from '../prune/calibration.js';
import { checkOutputDir, writePrunedModel } from '../prune/export-pruned.js';
import { pruneModel, type MatrixPruneReport, type PruneMethod } from '../prune/prune-model.js';
import { PRUNE_QUANTS, type PruneQuant } from '../prune/quant-grid.js';
import { parseSparsityPattern, patternLabel, sparseLayoutOf } from '../prune/sparsity-pattern.js';
import { addModelOptions, numberFlag, openModel, type ModelFlags } from './model-options.js';

interface PruneFlags extends ModelFlags {
  sparsity?: number;
  pattern?: string;
  method: string;
  calib?: string;
  calibSamples: number;
  seqLen?: number;
  seed: number;
  blockSize: number;
  percdamp: number;
  trueSequential?: boolean;
  reconError: boolean;
  dense?: boolean;
  quantize?: string;
  out: string;
}

export function register(program: Command): void {
  addModelOptions(program.command('prune').description('one-shot weight pruning (SparseGPT or magnitude) of every transformer linear layer; writes an HF checkpoint with the pruned matrices stored sparse'))
    .option('--sparsity <s>', 'fraction of weights to zero, e.g. 0.5', numberFlag('sparsity'))
    .option('--pattern <n:m>', 'semi-structured sparsity: n zeros in every m consecutive inputs (2:4, 4:8)')
    .option('--method <name>', 'sparsegpt | magnitude', 'sparsegpt')
    .option('--calib <file>', 'calibration text (default: text sampled from the model itself with --seed)')
    .option('--calib-samples <n>', 'calibration sequences', numberFlag('calib-samples'), 32)
    .option('--seq-len <n>', "tokens per calibration sequence (default: min(256, the model's context))", numberFlag('seq-len'))
    .option('--seed <s>', 'calibration seed', numberFlag('seed'), 0)
    .option('--block-size <n>', 'SparseGPT column block size', numberFlag('block-size'), 128)
    .option('--percdamp <f>', 'SparseGPT damping, fraction of mean(diag H)', numberFlag('percdamp'), 0.01)
    .option('--true-sequential', 'prune q/k/v, o, gate/up, down in turn, each on inputs from the pruned ones')
    .option('--no-recon-error', 'skip measuring the reconstruction error of each matrix (saves time on large models)')
    .option('--quantize <type>', `also quantise the kept weights (${PRUNE_QUANTS.join(' | ')}); SparseGPT compensates the rounding as it prunes`)
    .option('--dense', 'store the pruned matrices dense with zeros (for tools that do not read kvtrim.sparse) instead of sparse')
    .requiredOption('--out <dir>', 'output directory (config.json, model.safetensors, tokenizer)')
    .action(async (flags: PruneFlags) => {
      const pattern = parseSparsityPattern(flags.sparsity, flags.pattern);
      if (flags.method !== 'sparsegpt' && flags.method !== 'magnitude') throw new Error(`--method must be sparsegpt or magnitude, got '${flags.method}'`);
      const method: PruneMethod = flags.method;
      if (flags.quantize !== undefined && !PRUNE_QUANTS.includes(flags.quantize as PruneQuant)) throw new Error(`--quantize must be ${PRUNE_QUANTS.join(' or ')}, got '${flags.quantize}'`);
      const quantize = flags.quantize as PruneQuant | undefined;
      checkOutputDir(flags.out);
      const t0 = performance.now();
      const { model, tokenizer, checkpoint } = await openModel(flags);
      const seqLen = flags.seqLen ?? Math.min(256, model.config.maxSeqLen);
      const bosId = tokenizer.bosId ?? model.config.bosId;
      let calibration: number[][] = [];
      /** Distinct calibration tokens: windows drawn from a short text overlap. */
      let distinctTokens = 0;
      if (flags.calib !== undefined) {
        const ids = tokenizer.encode(readFileSync(flags.calib, 'utf8'));
        // Windows start with BOS only where the tokenizer's own convention puts one.
        const windowBos = bosId !== undefined && ids[0] === bosId ? bosId : undefined;
        calibration = calibrationFromTokens(ids, flags.calibSamples, seqLen, { seed: flags.seed, bosId: windowBos });
        distinctTokens = Math.min(ids.length, flags.calibSamples * seqLen);
      } else if (method === 'sparsegpt') {
        if (bosId === undefined) throw new Error('this model has no BOS token to start sampled calibration text from; pass --calib <file>');
        console.error(`sampling ${flags.calibSamples} × ${seqLen} calibration tokens from the model (seed ${flags.seed})…`);
        calibration = calibrationFromModel(model, flags.calibSamples, seqLen, { seed: flags.seed, bosId });
        distinctTokens = flags.calibSamples * seqLen;
      }
      const rankWarning = method === 'sparsegpt' ? rankDeficiencyWarning(distinctTokens, model.config) : undefined;
      if (rankWarning) console.error(`warning: ${rankWarning}`);
      const tCalib = performance.now();

      const nLayers = model.config.nLayers;
      const bar = new SingleBar({ format: `${method} ${patternLabel(pattern)} [{bar}] layer {layer}/${nLayers} | {value}/{total} matrices | {duration}s`, stream: process.stderr });
      bar.start(nLayers * 7, 0, { layer: 1 });
      const result = pruneModel(model, calibration, {
        method,
        pattern,
        blockSize: flags.blockSize,
        percDamp: flags.percdamp,
        trueSequential: flags.trueSequential,
        measureError: flags.reconError,
        ...(quantize ? { quantize } : {}),
        onMatrix: (r) => bar.increment({ layer: r.layer + 1 }),
      });
      bar.stop();
      const tPrune = performance.now();

      const written = writePrunedModel(checkpoint, result.weights, flags.out, { tokenizerPath: flags.tokenizer, quantized: result.quantized, ...(flags.dense ? {} : { sparse: sparseLayoutOf(pattern) }) });
      printSummary(result.matrices, quantize);
      const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
      console.log(`time: load + calibration ${secs(t0, tCalib)} s, pruning ${secs(tCalib, tPrune)} s, writing ${secs(tPrune, performance.now())} s`);
      console.log(`wrote ${written.files.join(', ')} to ${flags.out}`);
      if (written.note) console.log(written.note);
    });
}

function printSummary(rows: MatrixPruneReport[], quantize: PruneQuant | undefined): void {
  const retried = rows.filter((r) => (r.retries ?? 0) > 0);
  const quantCell = (r: MatrixPruneReport) => (quantize ? (r.quantized ?? 'float').padStart(7) : '');
  console.log('matrix'.padEnd(48) + 'shape'.padStart(12) + 'sparsity'.padStart(10) + 'rel. error'.padStart(12) + (quantize ? 'values'.padStart(7) : ''));
  for (const r of rows)
    console.log(
      r.name.padEnd(48) +
        `${r.rows}×${r.cols}`.padStart(12) +
        `${(r.sparsity * 100).toFixed(2)}%`.padStart(10) +
        (r.relError === undefined ? '-' : r.relError.toExponential(3)).padStart(12) +
        quantCell(r),
    );
  const zeros = rows.reduce((s, r) => s + r.zeros, 0);
  const total = rows.reduce((s, r) => s + r.rows * r.cols, 0);
  console.log(`pruned matrices: ${rows.length}, ${zeros} of ${total} weights zero (${((zeros / total) * 100).toFixed(3)}%)`);
  const unquantized = quantize ? rows.filter((r) => !r.quantized).length : 0;
  if (unquantized > 0) console.log(`note: ${unquantized} matrices have inputs that are not whole ${quantize} blocks of 32 and keep float values`);
  for (const r of retried) console.log(`note: ${r.name}: H was not positive definite; damping raised to ${r.percDamp} after ${r.retries} retries`);
}
