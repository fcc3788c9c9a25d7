import { platform } from '../platform/platform.js';

/** The embedded default model, `models/kvtrim-tiny/` at the package root (where the platform keeps it). */
export function defaultModelPath(): string {
  return platform().defaultModelDir();
}
