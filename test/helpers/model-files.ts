import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Checkpoints kept in the repository under their licences (see each folder's README in test/fixtures/). */
const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

/**
 * Checkpoints whose files state no licence (tinystories-656K, aidreams260K, zh-poem750K,
 * stories260K_q80.bin) stay outside the repository, in the folder KVTRIM_EXTRA_MODELS names
 * (CI sets it to ../shared/models).
 */
const extraDir = process.env.KVTRIM_EXTRA_MODELS ? resolve(process.env.KVTRIM_EXTRA_MODELS) : undefined;

/** A model file by its path under the models' folder: from test/fixtures/ when the repository holds it, else from KVTRIM_EXTRA_MODELS. */
export function modelPath(rel: string): string {
  const fixture = join(fixturesDir, rel);
  return existsSync(fixture) ? fixture : join(extraDir ?? '/KVTRIM_EXTRA_MODELS-is-not-set', rel);
}

/** node:test's `skip` option for a test that needs the extra models: the reason, or false when they are there. */
export const needsExtraModels: string | false = extraDir ? false : 'needs KVTRIM_EXTRA_MODELS, a folder of the unlicensed tiny checkpoints (CI: ../shared/models)';
