import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds dist/browser (what `npm run build` does last), so a playground test file also runs alone. */
export function buildBrowserBundle(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-browser.mjs', import.meta.url))]);
}
