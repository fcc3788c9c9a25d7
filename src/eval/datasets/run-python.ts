import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PythonRun {
  /** Exited by itself with status 0 within the time limit. */
  passed: boolean;
  timedOut: boolean;
  status: number | null;
  /** The last part of stderr, for diagnostics. */
  stderr: string;
}

/**
 * Runs a Python program with `python3 -I` (isolated: no user site, no PYTHON* variables) in a fresh
 * temporary folder, with no stdin, and kills it (SIGKILL) at `timeoutMs`. This is a time limit, not
 * a sandbox: the program can do whatever the user can, which is why callers need explicit consent.
 */
export function runPython(source: string, timeoutMs: number): PythonRun {
  const dir = mkdtempSync(join(tmpdir(), 'kvtrim-py-'));
  try {
    const file = join(dir, 'program.py');
    writeFileSync(file, source);
    const r = spawnSync('python3', ['-I', '-B', file], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 20,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw new Error('python3 was not found on PATH; HumanEval scoring needs it');
    const timedOut = code === 'ETIMEDOUT';
    return { passed: !r.error && r.status === 0, timedOut, status: r.status, stderr: (r.stderr ?? '').slice(-2000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
