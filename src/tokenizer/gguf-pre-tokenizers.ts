/**
 * The pre-tokenizer regexes llama.cpp (src/llama-vocab.cpp) applies for each `tokenizer.ggml.pre` of a
 * byte-level BPE ("gpt2") vocabulary. Each regex splits every fragment the previous one left into its
 * matches and the text between them (HF's Split with behavior "Isolated").
 */
export interface PreTokenizerRule {
  regexes: readonly string[];
  /** llama.cpp looks whole words up in the vocabulary before merging (Llama 3). */
  ignoreMerges?: boolean;
}

const GPT2 = ["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"];
const LLAMA3_REGEX =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = [
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
];
const STARCODER = ['\\p{N}', "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"];
const BLOOM = [' ?[^(\\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+'];
const DEFAULT = [
  '[\\p{P}\\$\\+<=>\\^~\\|]+',
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
  '\\p{N}+',
  '[0-9][0-9][0-9]',
];

const rules: Record<string, PreTokenizerRule> = {
  default: { regexes: DEFAULT },
  'llama-bpe': { regexes: [LLAMA3_REGEX], ignoreMerges: true },
  'deepseek-llm': {
    regexes: [
      '[\r\n]',
      '\\s?[A-Za-z\\u{B5}\\u{C0}-\\u{D6}\\u{D8}-\\u{F6}\\u{F8}-\\u{1BA}\\u{1BC}-\\u{1BF}\\u{1C4}-\\u{293}\\u{295}-\\u{2AF}\\u{370}-\\u{373}\\u{376}\\u{377}\\u{37B}-\\u{37D}\\u{37F}\\u{386}\\u{388}-\\u{38A}\\u{38C}\\u{38E}-\\u{3A1}\\u{3A3}-\\u{3F5}\\u{3F7}-\\u{481}\\u{48A}-\\u{52F}\\u{531}-\\u{556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}\\u{13F8}-\\u{13FD}\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}\\u{2184}\\u{2C00}-\\u{2C7B}\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}\\u{2CF3}\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}\\u{A771}-\\u{A787}\\u{A78B}-\\u{A78E}\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}\\u{FF21}-\\u{FF3A}\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}]+',
      '\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+',
      '\\s+$',
      '[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+',
      '\\p{N}+',
    ],
  },
  'deepseek-coder': { regexes: ['[\r\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+', '\\p{N}'] },
  'deepseek-v3': {
    regexes: [
      '\\p{N}{1,3}',
      '[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+',
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    ],
  },
  falcon: { regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2[0]!, '[0-9][0-9][0-9]'] },
  'gpt-2': { regexes: GPT2 },
  qwen2: { regexes: QWEN2 },
  starcoder: { regexes: STARCODER },
  bloom: { regexes: BLOOM },
  viking: { regexes: [BLOOM[0]!, '\\p{N}'] },
  'chatglm-bpe': { regexes: [LLAMA3_REGEX] },
  dbrx: { regexes: [LLAMA3_REGEX] },
};

/** Names llama.cpp treats as another name's pre-tokenizer. */
const aliases: Record<string, string> = {
  llama3: 'llama-bpe', 'llama-v3': 'llama-bpe', falcon3: 'llama-bpe',
  'smaug-bpe': 'dbrx',
  'phi-2': 'gpt-2', 'jina-es': 'gpt-2', 'jina-de': 'gpt-2', gigachat: 'gpt-2', 'jina-v1-en': 'gpt-2', 'jina-v2-es': 'gpt-2',
  'jina-v2-de': 'gpt-2', 'jina-v2-code': 'gpt-2', 'roberta-bpe': 'gpt-2', mpt: 'gpt-2', olmo: 'gpt-2', jais: 'gpt-2',
  'deepseek-r1-qwen': 'qwen2', stablelm2: 'qwen2', megrez: 'qwen2',
  refact: 'starcoder', 'command-r': 'starcoder', smollm: 'starcoder', codeshell: 'starcoder', exaone: 'starcoder', 'minerva-7b': 'starcoder',
  'poro-chat': 'bloom', 'gpt3-finnish': 'bloom',
};

/** The rule for a `tokenizer.ggml.pre` value (absent: llama.cpp's "default"); undefined when unknown. */
export function preTokenizerRule(pre: string | undefined): PreTokenizerRule | undefined {
  const name = pre ?? 'default';
  // hasOwn: a hostile name such as "constructor" must not reach Object.prototype.
  const key = Object.hasOwn(aliases, name) ? aliases[name]! : name;
  return Object.hasOwn(rules, key) ? rules[key] : undefined;
}

/** The names preTokenizerRule knows, for error messages. */
export function knownPreTokenizers(): string[] {
  return [...Object.keys(rules), ...Object.keys(aliases)].sort();
}
