import assert from 'node:assert/strict';

/**
 * Asserts that `run` throws (or rejects with) an error of class `type` whose message matches `pattern`,
 * within `ms` milliseconds: the hostile input must be refused before any work its header claims.
 */
export async function rejectsQuickly(run: () => unknown, type: new (...args: never[]) => Error, pattern: RegExp, ms = 1000): Promise<void> {
  const t0 = performance.now();
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  const took = performance.now() - t0;
  assert.ok(error instanceof type, `expected a ${type.name}, got ${error instanceof Error ? error.stack : String(error)}`);
  assert.match(error.message, pattern);
  assert.ok(took < ms, `${type.name} took ${took.toFixed(0)} ms (bound ${ms} ms): ${error.message}`);
}
