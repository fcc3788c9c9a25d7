/**
 * The body of a kernel worker, as the source of a plain-JavaScript function `(data, ready)` that the
 * platform starts a thread with (so it needs no file next to the compiled or the tsx-run sources,
 * nor a page's script URL). It instantiates the kernels on the shared memory,
 * then waits for a new job generation in the control block — spinning a while first, because
 * decode issues a job every few tens of microseconds and a futex wake-up costs about as much —
 * and claims chunks of the job until none is left, counting each one done.
 * Control block (Int32Array): [0] generation, [1] chunks done, [2] stop, [3] error, [4…] job,
 * [30] next chunk to claim, [31] chunks in the job.
 */
export const KERNEL_WORKER_BODY = `function (data, ready) {
const { memory, module, ctrl, spin } = data;
const runJob = new WebAssembly.Instance(module, { env: { memory } }).exports.runJob;
const ctl = new Int32Array(memory.buffer, ctrl, 32);
let seen = Atomics.load(ctl, 0);
ready();
for (;;) {
  let spins = 0;
  while (Atomics.load(ctl, 0) === seen) {
    if (++spins > spin) {
      Atomics.wait(ctl, 0, seen);
      spins = 0;
    }
  }
  seen = Atomics.load(ctl, 0);
  if (Atomics.load(ctl, 2) !== 0) break;
  for (;;) {
    const c = Atomics.add(ctl, 30, 1);
    const chunks = Atomics.load(ctl, 31);
    if (c >= chunks) break;
    try {
      runJob(ctrl, c, chunks);
    } catch (e) {
      Atomics.store(ctl, 3, 1);
    }
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}
}`;
