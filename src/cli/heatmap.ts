import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { renderHeatmapPage } from '../inspect/heatmap-page.js';
import { inspectPrompt } from '../inspect/inspect-prompt.js';
import { splitShots } from '../press/split-shots.js';
import { findPress } from '../press/registry.js';
import { addModelOptions, numberFlag, openModel, type ModelFlags } from './model-options.js';

interface HeatmapFlags extends ModelFlags {
  prompt?: string;
  promptFile?: string;
  segments?: boolean;
  press?: string;
  ratio: number;
  layers?: string;
  heads?: string;
  lastRows?: number;
  block?: number;
  out: string;
  json?: string;
}

export function register(program: Command): void {
  addModelOptions(program.command('heatmap').description('write a self-contained HTML page of attention heatmaps and what each press kept'))
    .option('--prompt <text>', 'the prompt')
    .option('--prompt-file <file>', 'read the prompt from a file')
    .option('--segments', 'split the prompt on blank lines: shots, then the question (last paragraph)')
    .option('--press <names>', 'comma-separated presses to run on the same prompt, e.g. snapkv,shotkv')
    .option('--ratio <r>', 'fraction of the cache each press removes', numberFlag('ratio'), 0.5)
    .option('--layers <list>', 'layers to capture, e.g. 0,2-4 (default: all)')
    .option('--heads <list>', 'query heads to capture, e.g. 0-3 (default: all)')
    .option('--last-rows <n>', 'capture only the last n query rows', numberFlag('last-rows'))
    .option('--block <n>', 'pool queries and keys in blocks of n tokens (default: automatic for long prompts)', numberFlag('block'))
    .option('--out <file>', 'output HTML page', 'heatmap.html')
    .option('--json <file>', 'also write the captured data as JSON')
    .action(async (flags: HeatmapFlags) => {
      if ((flags.prompt === undefined) === (flags.promptFile === undefined)) throw new Error('give exactly one of --prompt or --prompt-file');
      const text = flags.prompt ?? readFileSync(flags.promptFile!, 'utf8');
      // check what needs no model before loading one
      const presses = flags.press ? flags.press.split(',').map((s) => s.trim()).filter(Boolean) : [];
      presses.forEach(findPress);
      const layers = flags.layers === undefined ? undefined : indexList(flags.layers, 'layers');
      const heads = flags.heads === undefined ? undefined : indexList(flags.heads, 'heads');
      const { model, tokenizer } = await openModel(flags);
      const data = inspectPrompt(model, tokenizer, flags.segments ? splitShots(text) : text, {
        modelName: flags.model ? basename(flags.model) : 'kvtrim-tiny',
        presses,
        ratio: flags.ratio,
        layers,
        heads,
        lastRows: flags.lastRows,
        block: flags.block,
      });
      writeFileSync(flags.out, renderHeatmapPage(data));
      if (flags.json) writeFileSync(flags.json, JSON.stringify(data));
      console.error(`${data.tokens.length} tokens, ${data.maps.length} heads, block ${data.block}: wrote ${flags.out}${flags.json ? ` and ${flags.json}` : ''}`);
    });
}

/** Parses "0,2-4" into [0, 2, 3, 4]. */
function indexList(spec: string, name: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`--${name} expects indices like 0,2-4, got '${spec}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`--${name}: range ${part.trim()} runs backwards`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}
