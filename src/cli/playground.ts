import type { Command } from 'commander';
import { defaultModelPath } from '../model/default-model.js';
import { startPlayground } from '../playground/playground-server.js';
import { countFlag } from './model-options.js';

interface PlaygroundFlags {
  model?: string;
  port: number;
  isolation: boolean;
}

export function register(program: Command): void {
  program
    .command('playground')
    .description('serve the browser playground on loopback: generate, watch attention and what each press keeps, in the page')
    .option('--model <path>', 'the model the page loads by default: an HF folder or a .gguf (default: the embedded model)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free one)', countFlag('port', 0), 8471)
    .option('--no-isolation', 'leave out the cross-origin isolation headers (the page then runs the kernels on one thread)')
    .action(async (flags: PlaygroundFlags) => {
      const pg = await startPlayground({ model: flags.model ?? defaultModelPath(), port: flags.port, isolated: flags.isolation });
      console.error(`kvtrim playground at ${pg.url}${flags.isolation ? '' : ' (not cross-origin isolated: one thread)'} (Ctrl-C stops it)`);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void pg.close().then(() => process.exit(0)));
    });
}
