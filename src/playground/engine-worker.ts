// The playground's engine, in a dedicated worker (the kernels' threads wait with Atomics.wait, which a
// page's main thread may not): it loads the model from files the page hands over, generates, and
// captures attention and what each press keeps. Bundled to dist/browser/playground-worker.js on top of
// the library bundle (it imports ./kvtrim.js at run time), so the playground runs what web projects get.
import {
  HeadCache,
  Session,
  createPress,
  createWasmBackend,
  inspectPrompt,
  loadModel,
  mountFiles,
  platform,
  pressRegistry,
  provideKernels,
  splitShots,
  unmountFiles,
  type LoadedModel,
  type PressKept,
  type WasmBackend,
} from '../browser.js';
import type { FromEngine, KvBytes, PageFile, ToEngine } from './messages.js';

/** Presses the page offers: every registered one that needs nothing beyond the model (DuoAttention reads a gates file). */
const PRESSES = pressRegistry.map((p) => p.name).filter((n) => n !== 'none' && n !== 'duo-attention');

let backend: WasmBackend | undefined;
let loaded: LoadedModel | undefined;

const send = (m: FromEngine) => postMessage(m);

/** The model inside the handed-over files: the only .gguf, else the folder holding config.json. */
function modelPath(files: PageFile[]): string {
  const ggufs = files.filter((f) => f.path.endsWith('.gguf'));
  if (ggufs.length === 1) return '/' + ggufs[0]!.path;
  const config = files.find((f) => f.path === 'config.json' || f.path.endsWith('/config.json'));
  if (config) return platform().dirname('/' + config.path);
  throw new Error(`no model in the files: expected one .gguf, or a folder with config.json and safetensors (got ${files.map((f) => f.path).join(', ') || 'nothing'})`);
}

async function load(m: Extract<ToEngine, { type: 'load' }>): Promise<void> {
  loaded = undefined;
  // a fresh backend per model: the last model's weights go with its memory
  backend?.dispose();
  unmountFiles();
  mountFiles(m.files.map((f) => ['/' + f.path, f.file]));
  provideKernels(new Uint8Array(m.kernels));
  // threads on a shared memory where the page is cross-origin isolated (platform().cores() is 1 otherwise)
  backend = await createWasmBackend({ threads: platform().cores(), nativeGemm: false });
  loaded = await loadModel(modelPath(m.files), { backend });
  const c = loaded.model.config;
  send({ type: 'loaded', name: m.name, layers: c.nLayers, heads: c.nHeads, kvHeads: c.nKvHeads, threads: backend.threads, isolated: globalThis.crossOriginIsolated === true, presses: PRESSES });
}

/** Bytes of the entries a press kept, and of the whole prompt's cache (HeadCache's size per entry, as KVCache counts). */
function keptBytes(p: PressKept, tokens: number, headDim: number): KvBytes {
  const per = HeadCache.bytesPerEntry(headDim);
  const entries = p.kept.reduce((n, layer) => n + layer.reduce((k, head) => k + head.length, 0), 0);
  const heads = p.kept.length * (p.kept[0]?.length ?? 0);
  return { press: p.name, kept: entries * per, full: tokens * heads * per };
}

async function run(m: Extract<ToEngine, { type: 'run' }>): Promise<void> {
  if (!loaded) throw new Error('no model loaded yet');
  const { model, tokenizer } = loaded;
  const ctx = { model, tokenizer };
  const segments = m.shotSeparator ? splitShots(m.prompt, m.shotSeparator) : undefined;
  const press = m.generateWith ? createPress(m.generateWith, {}, ctx) : undefined;
  const session = new Session(model, tokenizer, press ? { compression: { press, ratio: m.ratio } } : {});
  try {
    session.prefill(m.prompt, { segments });
    const ids: number[] = [];
    for await (const t of session.generate({ maxTokens: m.maxTokens, temperature: 0 })) {
      if (t.id >= 0) ids.push(t.id);
      send({ type: 'token', id: t.id, text: t.text });
    }
    send({ type: 'generated', ids, kv: { press: m.generateWith ?? 'none', kept: session.cache.bytes(), full: session.cache.fullBytes() }, decodeMs: session.stats.decodeMs });
  } finally {
    session.free();
  }
  const presses = m.presses.map((n) => createPress(n, {}, ctx));
  const data = inspectPrompt(model, tokenizer, segments ?? m.prompt, { modelName: loaded.checkpoint.source, presses, ratio: m.ratio });
  send({ type: 'inspected', data, kv: data.presses.map((p) => keptBytes(p, data.tokens.length, model.config.headDim)) });
}

onmessage = (e: MessageEvent<ToEngine>) => {
  const m = e.data;
  (m.type === 'load' ? load(m) : run(m)).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
