import type { Command } from 'commander';
import { summarizeCheckpoint, summarizeMatrices, type MatrixSummary } from '../formats/checkpoint-summary.js';
import { sparseLayoutLabel } from '../formats/sparse-matrix.js';
import { loadCheckpoint } from '../formats/load-checkpoint.js';
import { defaultModelPath } from '../model/default-model.js';
import { loadTokenizer } from '../tokenizer/load-tokenizer.js';
import { addModelOptions, type ModelFlags } from './model-options.js';

const bytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const count = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K` : String(n));

export function register(program: Command): void {
  addModelOptions(program.command('info').description('print a model\'s architecture, size and KV cache cost per token')).action(async (flags: ModelFlags) => {
    const ckpt = loadCheckpoint(flags.model ?? defaultModelPath());
    const c = ckpt.config;
    const s = summarizeCheckpoint(ckpt);
    const rows: [string, string][] = [
      ['model', ckpt.source],
      ['format', ckpt.format],
      ['architecture', c.arch],
      ['parameters', `${s.parameters.toLocaleString('en-US')} (${count(s.parameters)})`],
      ['weights', `${bytes(s.weightBytes)}; dtypes ${Object.entries(s.dtypes).map(([d, n]) => `${d} ×${n}`).join(', ')}`],
      ['weight bytes', `${s.weightBytes.toLocaleString('en-US')} stored, ${s.denseWeightBytes.toLocaleString('en-US')} dense (${(s.weightBytes / s.denseWeightBytes).toFixed(3)}×)`],
      ['context length', String(c.maxSeqLen)],
      ['layers', String(c.nLayers)],
      ['heads', `${c.nHeads} query, ${c.nKvHeads} kv (group ${c.nHeads / c.nKvHeads}), head dim ${c.headDim}`],
      ['dim / ffn', `${c.dim} / ${c.hiddenDim}`],
      ['vocab', String(c.vocabSize)],
      ['rope', `${c.ropeLayout} pairs, theta ${c.ropeTheta}${c.ropeScaling ? `, llama3 scaling ×${c.ropeScaling.factor} from ${c.ropeScaling.originalMaxPositions}` : ''}`],
      ['rms norm eps', String(c.normEps)],
      ['embeddings', c.tiedEmbeddings ? 'tied' : 'separate lm_head'],
      ['qkv bias', c.qkvBias ? 'yes' : 'no'],
      ['sliding window', c.slidingWindow === undefined ? 'none' : String(c.slidingWindow)],
      ['special ids', `bos ${c.bosId ?? '-'}, eos ${c.eosIds.join(' ') || '-'}`],
      ['KV bytes/token', `${s.kvBytesPerToken} (f32 cache: 2 × ${c.nLayers} layers × ${c.nKvHeads} kv heads × ${c.headDim} × 4 B); full context ${bytes(s.kvBytesPerToken * c.maxSeqLen)}`],
    ];
    const tok = await loadTokenizer(ckpt, { tokenizerPath: flags.tokenizer }).catch((e: Error) => e);
    rows.push(['tokenizer', tok instanceof Error ? `not loaded (${tok.message})` : `vocab ${tok.vocabSize}, bos ${tok.bosId ?? '-'}, eos ${tok.eosIds.join(' ') || '-'}${tok.applyChatTemplate ? ', chat template' : ''}`]);
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    printMatrices(summarizeMatrices(ckpt));
  });
}

/** One line per weight matrix: shape, dtype, storage (dense or its sparse layout), kept share, stored and dense bytes. */
function printMatrices(matrices: MatrixSummary[]): void {
  const name = Math.max(6, ...matrices.map((m) => m.name.length));
  const line = (cells: string[]) => cells[0]!.padEnd(name) + cells.slice(1).map((c, i) => c.padStart([12, 7, 22, 9, 14, 14][i]!)).join('');
  console.log(line(['matrix', 'shape', 'dtype', 'storage', 'kept', 'bytes', 'dense bytes']));
  for (const m of matrices)
    console.log(
      line([
        m.name,
        `${m.rows}×${m.cols}`,
        m.dtype,
        m.layout ? `sparse ${sparseLayoutLabel(m.layout)}` : 'dense',
        m.kept === undefined ? '-' : `${(m.kept * 100).toFixed(2)}%`,
        m.bytes.toLocaleString('en-US'),
        m.denseBytes.toLocaleString('en-US'),
      ]),
    );
}
