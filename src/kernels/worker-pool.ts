import { platform, type PlatformThread } from '../platform/platform.js';
import { KERNEL_WORKER_BODY } from './kernel-worker-source.js';

/** Spin iterations (tens of microseconds) before a waiting thread sleeps in Atomics.wait: long enough to catch the next decode job, short enough not to starve other processes on a busy machine. */
const SPIN = 20_000;

const GEN = 0;
const DONE = 1;
const STOP = 2;
const ERROR = 3;
const OPCODE = 4;
const ARGS = 5;
const NEXT = 30;
const CHUNKS = 31;
/** Int32 slots of the control block. */
export const CONTROL_INTS = 32;
/** Chunks per thread: enough to rebalance around a stalled thread, few enough to keep claims cheap. */
const CHUNKS_PER_THREAD = 4;
/** A claim counter value no job reaches. */
const CLOSED = 1 << 30;

/**
 * Threads that run kernel jobs on one shared WebAssembly.Memory. The calling thread works too;
 * `run` returns when every chunk of the job is done. Jobs are handed off through a control block in
 * shared memory with Atomics (no message per job).
 */
export class WorkerPool {
  private readonly ctl: Int32Array;
  private disposed = false;

  private constructor(
    private readonly workers: PlatformThread[],
    private readonly runJob: (ctrl: number, chunk: number, chunks: number) => void,
    private readonly ctrl: number,
    memory: WebAssembly.Memory,
  ) {
    this.ctl = new Int32Array(memory.buffer, ctrl, CONTROL_INTS);
  }

  /** Starts `threads − 1` workers and waits until each has instantiated the kernels. */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, runJob: (ctrl: number, chunk: number, chunks: number) => void, ctrl: number, threads: number): Promise<WorkerPool> {
    const workers: PlatformThread[] = [];
    for (let i = 1; i < threads; i++) workers.push(platform().startThread(KERNEL_WORKER_BODY, { memory, module, ctrl, spin: SPIN }));
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new WorkerPool(workers, runJob, ctrl, memory);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Chunks every job is cut into; kernels see the chunk index where they would see a thread id. */
  get chunks(): number {
    return this.threads === 1 ? 1 : this.threads * CHUNKS_PER_THREAD;
  }

  /**
   * Runs one job (opcode + i32 arguments) and returns when it is done. The job is cut into chunks
   * that threads claim from a shared counter, so a thread the OS has descheduled (a busy machine)
   * holds up at most the chunk it is in, and the calling thread does whatever nobody took.
   */
  run(opcode: number, args: readonly number[]): void {
    if (this.disposed) throw new Error('kernel pool used after dispose()');
    if (args.length > NEXT - ARGS) throw new RangeError(`a job takes at most ${NEXT - ARGS} arguments, got ${args.length}`);
    const ctl = this.ctl;
    // Close the counter first, so a late thread cannot claim a chunk of a half-written job.
    Atomics.store(ctl, NEXT, CLOSED);
    ctl[OPCODE] = opcode;
    for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i]! | 0;
    const chunks = this.chunks;
    Atomics.store(ctl, CHUNKS, chunks);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, NEXT, 0);
    if (this.threads > 1) {
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
    }
    for (let c = Atomics.add(ctl, NEXT, 1); c < chunks; c = Atomics.add(ctl, NEXT, 1)) {
      this.runJob(this.ctrl, c, chunks);
      Atomics.add(ctl, DONE, 1);
    }
    let spins = 0;
    for (let done = Atomics.load(ctl, DONE); done !== chunks; done = Atomics.load(ctl, DONE))
      if (++spins > SPIN) Atomics.wait(ctl, DONE, done, 1);
    if (Atomics.load(ctl, ERROR) !== 0) {
      Atomics.store(ctl, ERROR, 0);
      throw new Error('a kernel worker failed while running a job');
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.terminate();
  }
}
