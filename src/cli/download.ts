import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { defaultCacheDir, downloadModel } from '../hub/hub-download.js';

interface DownloadFlags {
  revision: string;
  cacheDir?: string;
  endpoint?: string;
  files?: string;
}

export function register(program: Command): void {
  program
    .command('download')
    .description('fetch a Hugging Face model (config, tokenizer, safetensors) into the local cache; resumable')
    .argument('<repo>', 'ORG/NAME on the hub')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--cache-dir <dir>', `cache root (default: $KVTRIM_CACHE or ${defaultCacheDir()})`)
    .option('--endpoint <url>', 'hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)')
    .option('--files <list>', 'comma-separated files to fetch instead of the default set (e.g. a .gguf)')
    .action(async (repo: string, flags: DownloadFlags) => {
      let bar: SingleBar | undefined;
      let current = '';
      const { dir, files } = await downloadModel(repo, {
        revision: flags.revision,
        cacheDir: flags.cacheDir,
        endpoint: flags.endpoint,
        files: flags.files?.split(',').map((f) => f.trim()).filter((f) => f !== ''),
        token: process.env.HF_TOKEN,
        onProgress: ({ file, received, total }) => {
          if (file !== current) {
            bar?.stop();
            current = file;
            bar = new SingleBar({ format: `${file} [{bar}] {percentage}% {value}/{total} bytes`, hideCursor: true });
            bar.start(total ?? 0, received);
          }
          if (total !== undefined) bar!.setTotal(total);
          bar!.update(received);
        },
      }).finally(() => bar?.stop());
      console.log(`${files.length} files in ${dir}`);
    });
}
