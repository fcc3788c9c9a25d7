import { platform } from '../platform/platform.js';
import { TENSOR_NAMES, type Checkpoint } from './checkpoint.js';
import { checkTensors } from './check-tensors.js';
import { describeValue } from './describe-value.js';
import { FormatError } from './format-error.js';
import { modelConfigFromHf } from './hf-config.js';
import { readFileBytes, type ByteAlloc } from './read-file.js';
import { parseSafetensors } from './safetensors.js';
import { SPARSE_METADATA_KEY, sparseTensors } from './sparse-tensors.js';
import type { RawTensor } from './tensor.js';

export const HF_INDEX_FILE = 'model.safetensors.index.json';
export const HF_SINGLE_FILE = 'model.safetensors';
const ROTARY_BUFFER = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/** Reads a Hugging Face model directory: config.json plus model.safetensors or a sharded index. */
export function readHfCheckpoint(dir: string, alloc?: ByteAlloc): Checkpoint {
  const { join, exists } = platform();
  const configPath = join(dir, 'config.json');
  const configJson = readJson(configPath);
  const tensors = new Map<string, RawTensor>();
  const indexPath = join(dir, HF_INDEX_FILE);
  if (exists(indexPath)) {
    for (const [shard, names] of shardsOf(readJson(indexPath), indexPath)) {
      const path = join(dir, shard);
      const inShard = new Map(safetensorsTensors(readFileBytes(path, alloc), path).map((t) => [t.name, t]));
      for (const name of names) {
        const t = inShard.get(name);
        if (!t) throw new FormatError(path, `tensor ${name} listed in ${HF_INDEX_FILE} is not in this shard`);
        tensors.set(name, t);
      }
      // Unknown tensors are refused in every format, unlisted ones too.
      const listed = new Set(names);
      for (const name of inShard.keys()) if (!listed.has(name)) throw new FormatError(path, `tensor ${name} of this shard is not listed in ${HF_INDEX_FILE}`);
    }
  } else {
    const path = join(dir, HF_SINGLE_FILE);
    if (!exists(path)) throw new FormatError(dir, `no ${HF_SINGLE_FILE} or ${HF_INDEX_FILE} in this directory`);
    for (const t of safetensorsTensors(readFileBytes(path, alloc), path)) tensors.set(t.name, t);
  }
  // Old transformers versions saved RoPE's inverse frequencies as a buffer; they follow from the config.
  for (const name of tensors.keys()) if (ROTARY_BUFFER.test(name)) tensors.delete(name);
  const lmHead = tensors.get(TENSOR_NAMES.lmHead);
  // Tied checkpoints saved by torch may keep only lm_head and alias the embedding to it.
  if (!tensors.has(TENSOR_NAMES.embed) && lmHead) tensors.set(TENSOR_NAMES.embed, { ...lmHead, name: TENSOR_NAMES.embed });
  const config = modelConfigFromHf(configJson, configPath, { hasLmHead: lmHead !== undefined });
  if (config.tiedEmbeddings) tensors.delete(TENSOR_NAMES.lmHead);
  return checkTensors({ source: dir, format: 'safetensors', config, tensors, metadata: configJson as Record<string, unknown> });
}

/** A safetensors file's tensors, its sparse matrices (kvtrim's U8 blobs) among them. */
function safetensorsTensors(bytes: Uint8Array, path: string): RawTensor[] {
  const file = parseSafetensors(bytes, path);
  return [...file.tensors, ...sparseTensors(path, file.bytes, file.metadata[SPARSE_METADATA_KEY])];
}

function readJson(path: string): unknown {
  const bytes = readFileBytes(path);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FormatError(path, `not valid JSON (${(e as Error).message})`);
  }
}

/** Shard file → tensor names, from an index's weight_map; shard names must be plain file names. */
function shardsOf(index: unknown, path: string): Map<string, string[]> {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FormatError(path, 'weight_map is missing or not an object');
  const shards = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file) || file.startsWith('.'))
      throw new FormatError(path, `weight_map entry for ${name} is not a plain .safetensors file name: ${describeValue(file)}`);
    const list = shards.get(file) ?? [];
    list.push(name);
    shards.set(file, list);
  }
  return shards;
}
