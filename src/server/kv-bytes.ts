import { HeadCache } from '../cache/head-cache.js';
import type { ModelConfig } from '../formats/model-config.js';

/**
 * KV bytes one position adds to an uncompressed float32 cache (all layers and KV heads): the most
 * any stored entry costs, so reservations counted in it are never too small (KIVI entries cost less).
 */
export function kvBytesPerToken(config: Pick<ModelConfig, 'nLayers' | 'nKvHeads' | 'headDim'>): number {
  return config.nLayers * config.nKvHeads * HeadCache.bytesPerEntry(config.headDim);
}
