import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { FormatError } from '../formats/format-error.js';
import type { ChatMessage } from './tokenizer.js';

/** The template refused a conversation (e.g. its `raise_exception` for roles that do not alternate), or ran past a limit. */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
}

/** The special-token strings templates refer to (`{{ bos_token }}` ...), as transformers passes them. */
export type TemplateTokens = Partial<Record<'bos_token' | 'eos_token' | 'unk_token' | 'pad_token', string>>;

/**
 * Bounds on one render, so a hostile template cannot loop, grow or run without end. Real chat templates
 * render in well under a millisecond with a few hundred evaluation steps.
 */
export const CHAT_TEMPLATE_LIMITS = {
  /** Items one `range()` may make (the library's own range fills an array of any size first). */
  rangeItems: 100_000,
  /** Evaluation steps (every loop iteration costs at least one). */
  steps: 1_000_000,
  millis: 1_000,
  /** Characters of any string or output, beyond twice the messages' own text. */
  chars: 1 << 20,
  /** Items of any list. */
  items: 100_000,
};

/** The part of the library's runtime used here (its .d.ts files import without extensions, so under NodeNext they type as any). */
interface RuntimeValue {
  value: unknown;
}
interface JinjaEnvironment {
  set(name: string, value: unknown): unknown;
}
interface JinjaInterpreter {
  run(program: unknown): RuntimeValue;
  evaluate(statement: unknown, environment: unknown): RuntimeValue;
}
const BaseInterpreter = Interpreter as unknown as new (env: JinjaEnvironment) => JinjaInterpreter;

/** The library's interpreter, checking the limits after every evaluation step. */
class BoundedInterpreter extends BaseInterpreter {
  private steps = 0;
  private readonly started = performance.now();

  constructor(
    env: JinjaEnvironment,
    private readonly maxChars: number,
  ) {
    super(env);
  }

  override evaluate(statement: unknown, environment: unknown): RuntimeValue {
    const limits = CHAT_TEMPLATE_LIMITS;
    if (++this.steps > limits.steps) throw new ChatTemplateError(`chat template: more than ${limits.steps} evaluation steps (the limit)`);
    if (this.steps % 256 === 0 && performance.now() - this.started > limits.millis) throw new ChatTemplateError(`chat template: rendering took more than ${limits.millis} ms (the limit)`);
    const v = super.evaluate(statement, environment);
    const x: unknown = v.value;
    if (typeof x === 'string' && x.length > this.maxChars) throw new ChatTemplateError(`chat template: a string of more than ${this.maxChars} characters (the limit)`);
    if (Array.isArray(x) && x.length > limits.items) throw new ChatTemplateError(`chat template: a list of more than ${limits.items} items (the limit)`);
    // A number this large can only be a repeat count (indent, tojson padding) the string limit would refuse after allocating it.
    if (typeof x === 'number' && Math.abs(x) > this.maxChars) throw new ChatTemplateError(`chat template: the number ${x} exceeds ${this.maxChars} (the limit)`);
    return v;
  }
}

/** A Jinja chat template (HF tokenizer_config.json `chat_template`, GGUF `tokenizer.chat_template`). */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly tokens: TemplateTokens,
    file: string,
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new FormatError(file, `chat template does not parse: ${(e as Error).message}`);
    }
  }

  render(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    const textChars = messages.reduce((a, m) => a + String(m.content).length + String(m.role).length, 0);
    const maxChars = CHAT_TEMPLATE_LIMITS.chars + 2 * textChars;
    try {
      const env = globals();
      for (const [key, value] of Object.entries({ ...this.tokens, messages, add_generation_prompt: opts.addGenerationPrompt ?? false })) env.set(key, value);
      const out = new BoundedInterpreter(env, maxChars).run(this.template.parsed).value;
      return typeof out === 'string' ? out : '';
    } catch (e) {
      if (e instanceof ChatTemplateError) throw e;
      throw new ChatTemplateError(`chat template: ${(e as Error).message}`);
    }
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * The globals transformers gives templates (the library sets these only inside its own unbounded
 * render): booleans and none in both spellings, raise_exception, a bounded range, strftime_now.
 */
function globals(): JinjaEnvironment {
  const env = new Environment() as JinjaEnvironment;
  for (const [name, value] of [['true', true], ['false', false], ['none', null], ['True', true], ['False', false], ['None', null]] as const) env.set(name, value);
  env.set('raise_exception', (message: unknown) => {
    throw new ChatTemplateError(`chat template: ${String(message)}`);
  });
  env.set('range', boundedRange);
  env.set('strftime_now', strftimeNow);
  return env;
}

/** Python's range(stop) / range(start, stop[, step]), refusing more than CHAT_TEMPLATE_LIMITS.rangeItems items before making any. */
function boundedRange(a: unknown, b?: unknown, c?: unknown): number[] {
  const [start, stop, step] = b === undefined ? [0, a, 1] : [a, b, c ?? 1];
  if (![start, stop, step].every((x) => Number.isSafeInteger(x))) throw new ChatTemplateError('chat template: range() takes integers');
  const [s0, s1, st] = [start, stop, step] as number[];
  if (st === 0) throw new ChatTemplateError('chat template: range() step must not be zero');
  const count = Math.max(0, Math.ceil((s1! - s0!) / st!));
  if (count > CHAT_TEMPLATE_LIMITS.rangeItems) throw new ChatTemplateError(`chat template: range() of ${count} items exceeds ${CHAT_TEMPLATE_LIMITS.rangeItems} (the limit)`);
  return Array.from({ length: count }, (_, i) => s0! + i * st!);
}

/** Python's datetime.now().strftime for the directives chat templates use (%d %b %Y and kin), English names as in the C locale. */
function strftimeNow(format: unknown): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const fields: Record<string, string> = {
    Y: String(d.getFullYear()), y: pad(d.getFullYear() % 100), m: pad(d.getMonth() + 1), d: pad(d.getDate()),
    B: MONTHS[d.getMonth()]!, b: MONTHS[d.getMonth()]!.slice(0, 3), H: pad(d.getHours()), M: pad(d.getMinutes()), S: pad(d.getSeconds()), '%': '%',
  };
  return String(format).replace(/%(.)/g, (all, k: string) => (Object.hasOwn(fields, k) ? fields[k]! : all));
}

/**
 * The template text from a `chat_template` value: a string, or a list of `{ name, template }` where
 * transformers uses the one named "default" (else, here, the first). Undefined when there is none.
 */
export function pickChatTemplate(value: unknown, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.filter(
      (t): t is { name: unknown; template: string } => typeof t === 'object' && t !== null && typeof (t as { template?: unknown }).template === 'string',
    );
    if (named.length !== value.length) throw new FormatError(file, 'chat_template list entries must be { name, template } objects');
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  }
  throw new FormatError(file, `chat_template must be a string or a list of named templates, not ${typeof value}`);
}
