/**
 * A native float32 GEMM for prefill-sized products: onnxruntime's CPU kernels (MLAS, with FMA)
 * reach 2–3× the WebAssembly SIMD GEMM here. onnxruntime-node is an optional dependency; without
 * it the WebAssembly path does everything. Its typed synchronous binding is used because the
 * forward pass is synchronous (the public `InferenceSession.run` only wraps it in a Promise).
 */

/** out[n × rows] = x[n × cols] · wᵀ (w row-major rows × cols); every array on the JS heap. */
export interface NativeGemm {
  gemm(out: Float32Array, x: Float32Array, n: number, w: Float32Array, rows: number, cols: number): void;
}

interface OrtTensor {
  readonly data: unknown;
}
type TensorConstructor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
interface SyncSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>, options: Record<string, unknown>): Record<string, OrtTensor>;
}

/** The ONNX graph Y = A · Bᵀ (one Gemm node, transB = 1) over symbolic M × K and N × K float inputs. */
async function gemmGraph(): Promise<Uint8Array> {
  const { onnx } = (await import('onnx-proto')).default;
  const FLOAT = 1;
  const INT_ATTRIBUTE = 2;
  const value = (name: string, dims: string[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((dimParam) => ({ dimParam })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'gemm',
      node: [{ opType: 'Gemm', input: ['A', 'B'], output: ['Y'], attribute: [{ name: 'transB', type: INT_ATTRIBUTE, i: 1 }] }],
      input: [value('A', ['M', 'K']), value('B', ['N', 'K'])],
      output: [value('Y', ['M', 'N'])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The native GEMM on `threads` threads, or undefined when onnxruntime-node is not installed or cannot load here. */
export async function loadNativeGemm(threads: number): Promise<NativeGemm | undefined> {
  let Tensor: TensorConstructor;
  let session: SyncSession;
  try {
    const ort = (await import('onnxruntime-node')) as unknown as { Tensor: TensorConstructor };
    const { binding, initOrt } = (await import('onnxruntime-node/dist/binding.js')) as unknown as {
      binding: { InferenceSession: new () => SyncSession };
      initOrt: () => void;
    };
    Tensor = ort.Tensor;
    initOrt();
    session = new binding.InferenceSession();
    const graph = await gemmGraph();
    session.loadModel(graph.buffer as ArrayBuffer, graph.byteOffset, graph.byteLength, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // Idle onnxruntime threads must sleep: the WebAssembly workers need the cores between GEMMs.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch {
    return undefined;
  }
  return {
    gemm(out, x, n, w, rows, cols) {
      if (x.length < n * cols || w.length < rows * cols || out.length < n * rows)
        throw new RangeError(`gemm: ${n}×${cols} · (${rows}×${cols})ᵀ needs x ≥ ${n * cols}, w ≥ ${rows * cols}, out ≥ ${n * rows} floats`);
      // onnxruntime writes into `out` itself (a preallocated output); it takes no SharedArrayBuffer views, hence the heap-only contract.
      session.run(
        { A: new Tensor('float32', x.subarray(0, n * cols), [n, cols]), B: new Tensor('float32', w.subarray(0, rows * cols), [rows, cols]) },
        { Y: new Tensor('float32', out.subarray(0, n * rows), [n, rows]) },
        {},
      );
    },
  };
}
