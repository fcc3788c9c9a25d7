// The browser bundle's surface (dist/browser/kvtrim.js, the package's "./browser" export): the engine,
// its cache and presses, and the attention inspector, running in a dedicated worker. Hand the page's
// files over with mountFiles and the kernels' binary with provideKernels, then load as in Node.
export { mountFiles, unmountFiles, provideKernels } from './platform/browser-platform.js';
export { platform } from './platform/platform.js';
export { loadModel, type LoadedModel } from './model/load-model.js';
export { Model } from './model/model.js';
export type { ModelConfig } from './formats/model-config.js';
export { loadCheckpoint } from './formats/load-checkpoint.js';
export { FormatError } from './formats/format-error.js';
export { loadTokenizer } from './tokenizer/load-tokenizer.js';
export type { Tokenizer } from './tokenizer/tokenizer.js';
export { Session, type GenerateOptions, type SessionOptions } from './generate/session.js';
export { Compression, type CompressionOptions } from './press/compression.js';
export { KVCache } from './cache/kv-cache.js';
export { HeadCache } from './cache/head-cache.js';
export { pressRegistry, createPress, findPress } from './press/registry.js';
export type { Press, Keep } from './press/press.js';
export { splitShots } from './press/split-shots.js';
export { createWasmBackend, type WasmBackend } from './kernels/wasm-backend.js';
export { inspectPrompt } from './inspect/inspect-prompt.js';
export type { HeatmapData } from './inspect/heatmap-data.js';
export type { PressKept } from './inspect/press-kept.js';
export { captureAttention } from './inspect/attention-capture.js';
export { defaultModelPath } from './model/default-model.js';
