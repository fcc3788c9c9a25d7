import type { RunMeta } from './train-state.js';
import { taskMix } from './training-data.js';

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const BAR: Record<string, number> = { retrieval: 0.9, safety: 0.9, knowledge: 0.9, arithmetic: 0.7, commonsense: 0.7, code: 0.7, 'long-generation': 0.7 };

/** Options as the command-line flags that set them (`lookupMaxLines: 56` → `--lookup-max-lines 56`). */
function flags(o: Record<string, number | string>): string {
  return Object.entries(o)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${v}`)
    .join(' ');
}

/** The options of each phase when a resumed run changed them, as the command lines that reproduce it. */
function phases(meta: RunMeta): string {
  if (!meta.phases) return '';
  const list = meta.phases.map((p, i) => `- from step ${p.fromStep}${meta.phases![i + 1] ? ` to ${meta.phases![i + 1]!.fromStep}` : ''}: \`${flags(p.options)}\``);
  return `\nThe run was resumed with changed options; its phases (an option a phase does not list did not exist yet: its drill weighed 0, worked shot answers 0.3, the schedule started at step 0):\n${list.join('\n')}\n`;
}

/** README.md of the exported model: size, data, recipe, training time and the latest held-out accuracy. */
export function modelCard(meta: RunMeta, paramCount: number, heldOutN: number): string {
  const c = meta.config;
  const last = [...meta.history].reverse().find((h) => h.accuracy);
  const acc = last?.accuracy ?? {};
  const lastLoss = [...meta.history].reverse().find((h) => Number.isFinite(h.loss))?.loss;
  const rows = Object.keys(BAR)
    .map((a) => `| ${a} | ${acc[a] === undefined ? 'not measured' : pct(acc[a]!)} | ≥ ${pct(BAR[a]!)} |`)
    .join('\n');
  const o = meta.options;
  return `# kvtrim-tiny

kvtrim's embedded default model: a ${(paramCount / 1e6).toFixed(2)} M-parameter character-level Llama, trained from scratch by
\`scripts/train-tiny.ts\` on the project's own synthetic task generators (\`src/eval/tasks/\`). It exists so that
\`kvtrim generate\` and \`kvtrim eval\` work offline, and so that the compression study has a model with the abilities it measures.
It loads through the ordinary Hugging Face path (config.json + model.safetensors + tokenizer.json).

## Architecture
Llama: RMSNorm, half-split (rotate_half) RoPE θ=${c.ropeTheta}, SwiGLU, grouped-query attention, tied embeddings.
dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads} heads / ${c.nKvHeads} KV heads (head dim ${c.dim / c.nHeads}), MLP ${c.hiddenDim},
context ${c.maxSeqLen}, vocabulary ${c.vocabSize} (one token per character: newline and printable ASCII, plus <unk>, <s>, </s>;
a BPE tokenizer.json with no merges). Weights in float32.

## Data
Documents from the seven synthetic generators (${Object.entries(taskMix(String(o.mix ?? '')))
    .map(([t, w]) => `${t} ${w}`)
    .join(', ')}: relative task weights in the latest phase), each \`<s> prompt answer \\n </s>\`, packed into rows of ${o.seq} characters with block-causal attention
(a document sees only itself). Random shot counts per task; retrieval documents grow from 256 characters to the full row
over the first 40% of training (curriculum). Training seeds are ≥ 1 000 000 000 (\`TRAINING_SEED_BASE\`); evaluation
seeds are below it. The knowledge and commonsense fact/rule bases are fixed: the model is meant to memorise them.
Training-only drills (\`scripts/train-tiny/drills.ts\`; weights beside the tasks' in the latest phase) isolate the
mechanisms the answers need: copying (\`Copy: <random words>\` → the same words; ${o.copyShare ?? 0}), key-value lookup
(retrieval's key lines${Number(o.lookupMaxLines ?? 0) > 0 ? `, 2 to ${o.lookupMaxLines} of them` : ''}, then up to eight of its questions; ${o.lookupShare ?? 0}), chained arithmetic
(\`Sum: 47+8=55. 55*2=110.\`; ${o.sumShare ?? 0}), short retrieval (the retrieval task at 64–256 characters; ${o.needleShare ?? 0}),
option letters (a commonsense option list, then answer lines with the word given and only the letter graded${Number(o.optionShortShare ?? 0) > 0 ? `, a share ${o.optionShortShare} of them in the short form \`word:\`${Number(o.optionShortWords ?? 0) > 0 ? ` with 0 to ${o.optionShortWords} of the property's words` : ''}` : ''}${Number(o.optionTaskShare ?? 0) > 0 ? `, a share ${o.optionTaskShare} of the documents in the task's Q/A form` : ''}; ${o.optionShare ?? 0}),
rule checks (a safety rule list, then a graded question on each of four to eight topics; ${o.ruleShare ?? 0})
and option picks (commonsense questions answered by the letter alone, right after the options; ${o.pickShare ?? 0}).
Loss: next-character cross-entropy, answer characters weight 1, the worked answers of few-shot prompts ${o.shotAnswerWeight ?? 0.3},
the rest of a prompt 0.3 (the drills' random parts 0).

## How the abilities were taught
The task documents alone did not teach every mechanism the answers rely on, so the mix adds the drills above, each
isolating one mechanism, and the worked answers inside few-shot prompts are graded too (\`--shot-answer-weight\`).
Three options give the drills a curriculum of their own:
- \`--lookup-max-lines N\`: each lookup drill document holds 2 to N key lines. In a short list a single matching digit
  already singles out the line, so the model first learns to carry the asked key to the answer, and only longer lists
  make it match all three digits.
- \`--option-short-share p\` writes a share p of the option drill's answer lines in the short form \`word:\`, and
  \`--option-short-words n\` lets such a line keep up to n of the property's words (\`word can:\`), so the word has
  further to travel to its letter.
- \`--option-task-share p\` writes a share p of the option drill's documents in the commonsense task's own Q/A form
  (several option lists; the letter is read from the last one).

In this run the option letter was learned in that order, short form first. Trained on the task's long answer line
alone, the model had not learned it after thousands of steps: it answered from a fixed option position instead.
The phases below record when each option changed; \`--mix\` reweights the tasks, and \`--schedule-from <step>\`
starts the warm-up and cosine decay again at that step (a warm restart of a resumed run).

## Recipe
TensorFlow.js 4.22 on the WebAssembly backend (one CPU thread), AdamW (β 0.9/0.95, weight decay 0.1 on matrices,
gradient clip 1.0), peak learning rate ${o.lr}, ${o.warmup} warm-up steps, cosine decay to 10% over steps ${o.scheduleFrom ?? 0}–${o.steps},
batch ${o.batch} × ${o.seq} characters, seed ${o.seed}.
${phases(meta)}
Trained so far: ${meta.step} steps, ${(meta.tokens / 1e6).toFixed(2)} M tokens, ${(meta.trainSeconds / 3600).toFixed(2)} h
(last training loss ${lastLoss === undefined ? 'n/a' : lastLoss.toFixed(3)}).

## Held-out accuracy (full cache, greedy, ${heldOutN} examples per ability, evaluation seed 7, kvtrim's own engine)
| ability | measured (step ${last?.step ?? 'n/a'}) | target |
|---|---|---|
${rows}

The check runs on kvtrim's WebAssembly kernels while training (100 examples per ability take about 80 s).

## Continue training
\`training-run.json\` beside the weights holds this run: its options, phases, progress and held-out checks. A run
takes its options from the command line, never from the saved run (an option that differs starts a new phase), so
continue with the latest phase's options and a larger \`--steps\`:

\`\`\`sh
npx tsx scripts/train-tiny.ts --from-model models/kvtrim-tiny ${flags({ ...o, steps: `<more than ${meta.step}>` })} --eval-n ${heldOutN}
\`\`\`

\`--from-model\` starts a run directory (\`.cache/train-tiny/\` by default) from this model; the AdamW moments are not
exported, so they start afresh, recorded as a phase of their own. Once that directory exists, the same command resumes
it instead, moments included (\`--from-model\` is then ignored). \`--grow-from <dir> --layers 6 --kv-heads 4\` starts a deeper run from a
saved one without losing what it learned: the old layers keep their weights, new layers start as the identity, and KV
heads are copied. \`npx tsx scripts/train-tiny.ts --help\` lists every option.
`;
}
