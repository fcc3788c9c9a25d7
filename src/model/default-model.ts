import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The embedded default model, `models/kvtrim-tiny/` at the package root (found from this file, built or not). */
export function defaultModelPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return join(dir, 'models', 'kvtrim-tiny');
    const up = dirname(dir);
    if (up === dir) throw new Error('kvtrim: cannot find the package root holding models/kvtrim-tiny');
    dir = up;
  }
}
