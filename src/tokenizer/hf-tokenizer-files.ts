import { FormatError } from '../formats/format-error.js';
import { readFileBytes } from '../formats/read-file.js';
import { platform } from '../platform/platform.js';
import { ChatTemplate, pickChatTemplate, type TemplateTokens } from './chat-template.js';
import { HfTokenizer } from './hf-tokenizer.js';

type Json = Record<string, unknown>;

/**
 * Loads a Hugging Face tokenizer: `tokenizer.json`, and beside it (each optional)
 * `tokenizer_config.json` (special tokens, chat template), `chat_template.jinja`, `config.json` and
 * `generation_config.json` (BOS/EOS ids; generation_config's EOS list is what HF stops on).
 */
export function loadHfTokenizer(tokenizerJsonPath: string): HfTokenizer {
  const { join, dirname, exists } = platform();
  const dir = dirname(tokenizerJsonPath);
  const json = readJson(tokenizerJsonPath);
  if (json === undefined) throw new FormatError(tokenizerJsonPath, 'file not found');
  const configPath = join(dir, 'tokenizer_config.json');
  const config = readJson(configPath) ?? {};
  const modelConfig = readJson(join(dir, 'config.json')) ?? {};
  const generation = readJson(join(dir, 'generation_config.json')) ?? {};

  const tokens: TemplateTokens = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) {
    const content = tokenContent(config[key]);
    if (content !== undefined) tokens[key] = content;
  }
  // An explicit `bos_token: null` (Qwen) means no BOS even where config.json names one.
  const bos = 'bos_token' in config ? tokens.bos_token : idOf(generation.bos_token_id) ?? idOf(modelConfig.bos_token_id);
  const eos = [tokens.eos_token, ...idsOf(generation.eos_token_id), ...idsOf(modelConfig.eos_token_id)].filter((t) => t !== undefined);

  const jinjaPath = join(dir, 'chat_template.jinja');
  const source = pickChatTemplate(config.chat_template, configPath) ?? (exists(jinjaPath) ? new TextDecoder().decode(readFileBytes(jinjaPath)) : undefined);
  const chatTemplate = source === undefined ? undefined : new ChatTemplate(source, tokens, config.chat_template ? configPath : jinjaPath);
  const extra = config.additional_special_tokens;
  const special = (Array.isArray(extra) ? extra : []).map(tokenContent).filter((t) => t !== undefined);
  return new HfTokenizer({ json, config, bos, eos, special, chatTemplate, file: tokenizerJsonPath });
}

/** A special token given as a string or as an AddedToken-like object `{ content }`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  return undefined;
}

function idOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function idsOf(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map(idOf).filter((id) => id !== undefined);
}

/** A JSON object file; undefined when the file does not exist; FormatError when it is not a JSON object. */
function readJson(path: string): Json | undefined {
  if (!platform().exists(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(readFileBytes(path)));
  } catch (e) {
    throw new FormatError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FormatError(path, 'expected a JSON object');
  return value as Json;
}
