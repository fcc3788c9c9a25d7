// Bundles the engine for the browser with esbuild: dist/browser/kvtrim.js (the package's "./browser"
// export) and the playground's page script and engine worker (which imports the library bundle). The core reaches its host through
// src/platform/platform.ts, whose Node implementation is swapped for the browser's here; onnxruntime
// (Node's native GEMM) is absent, so loading it fails and the WebAssembly kernels do every product.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @type {import('esbuild').Plugin} */
const browserHost = {
  name: 'kvtrim-browser-host',
  setup(b) {
    b.onResolve({ filter: /\/node-platform\.js$/ }, (args) => ({ path: join(args.resolveDir, 'browser-platform.ts') }));
    // the playground's worker imports the library bundle beside it rather than a second copy of the engine
    b.onResolve({ filter: /^\.\.\/browser\.js$/ }, (args) => (args.importer.includes('/src/playground/') ? { path: './kvtrim.js', external: true } : undefined));
    b.onResolve({ filter: /^onnx(runtime-node|-proto)(\/|$)/ }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({ contents: `throw new Error(${JSON.stringify(`${args.path} is not available in the browser`)});`, loader: 'js' }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: {
    kvtrim: 'src/browser.ts',
    'playground-worker': 'src/playground/engine-worker.ts',
    playground: 'src/playground/page-script.ts',
  },
  outdir: 'dist/browser',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'warning',
  metafile: true,
  plugins: [browserHost],
});
const nodeInputs = Object.keys(result.metafile.inputs).filter((p) => /node-platform|^node:/.test(p));
if (nodeInputs.length) throw new Error(`the browser bundle pulled in Node code: ${nodeInputs.join(', ')}`);
