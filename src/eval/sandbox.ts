/**
 * The code task's tiny language, run by an interpreter (never by eval): model output can only
 * assign integers, loop and print, within a step budget and a wall-clock deadline.
 *
 *   line    := name "=" expr | "print(" expr ")" | "while" expr cmp expr ":" name "=" expr
 *   expr    := term (("+" | "-") term)*      term := factor (("*" | "//" | "%") factor)*
 *   factor  := integer | name | "(" expr ")" | "-" factor
 */

export class SandboxError extends Error {
  constructor(
    readonly kind: 'syntax' | 'runtime' | 'timeout',
    message: string,
  ) {
    super(`sandbox ${kind} error: ${message}`);
    this.name = 'SandboxError';
  }
}

export interface SandboxLimits {
  /** Statements executed (loop iterations count). */
  maxSteps?: number;
  timeoutMs?: number;
  maxChars?: number;
}

type Token = { kind: 'num' | 'name' | 'op'; text: string };

function lex(line: string, lineNo: number): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(\d+)|([A-Za-z_]\w*)|(\/\/|==|!=|<=|>=|[-+*%()=<>:]))/y;
  let at = 0;
  while (at < line.length) {
    if (/^\s*$/.test(line.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(line);
    if (!m) throw new SandboxError('syntax', `line ${lineNo}: unexpected "${line.slice(at).trim().slice(0, 10)}"`);
    out.push(m[1] !== undefined ? { kind: 'num', text: m[1] } : m[2] !== undefined ? { kind: 'name', text: m[2] } : { kind: 'op', text: m[3]! });
    at = re.lastIndex;
  }
  return out;
}

type Expr = { num: number } | { name: string } | { op: string; a: Expr; b: Expr } | { neg: Expr };
type Stmt = { assign: string; value: Expr } | { print: Expr } | { loop: { a: Expr; cmp: string; b: Expr }; assign: string; value: Expr };

class Parser {
  private at = 0;
  constructor(
    private readonly toks: Token[],
    private readonly lineNo: number,
  ) {}

  private fail(what: string): never {
    throw new SandboxError('syntax', `line ${this.lineNo}: ${what}`);
  }
  private peek(): Token | undefined {
    return this.toks[this.at];
  }
  private take(text?: string): Token {
    const t = this.toks[this.at];
    if (!t || (text !== undefined && t.text !== text)) this.fail(`expected ${text ?? 'more'}, got ${t ? `"${t.text}"` : 'end of line'}`);
    this.at++;
    return t;
  }
  private name(): string {
    const t = this.take();
    if (t.kind !== 'name' || t.text === 'print' || t.text === 'while') this.fail(`expected a variable name, got "${t.text}"`);
    return t.text;
  }

  statement(): Stmt {
    const first = this.peek();
    let stmt: Stmt;
    if (first?.text === 'print') {
      this.take('print');
      this.take('(');
      const e = this.expr();
      this.take(')');
      stmt = { print: e };
    } else if (first?.text === 'while') {
      this.take('while');
      const a = this.expr();
      const cmp = this.take().text;
      if (!['<', '>', '<=', '>=', '==', '!='].includes(cmp)) this.fail(`expected a comparison, got "${cmp}"`);
      const b = this.expr();
      this.take(':');
      const assign = this.name();
      this.take('=');
      stmt = { loop: { a, cmp, b }, assign, value: this.expr() };
    } else {
      const assign = this.name();
      this.take('=');
      stmt = { assign, value: this.expr() };
    }
    if (this.at !== this.toks.length) this.fail(`unexpected "${this.toks[this.at]!.text}"`);
    return stmt;
  }

  private expr(): Expr {
    let e = this.term();
    while (this.peek()?.text === '+' || this.peek()?.text === '-') e = { op: this.take().text, a: e, b: this.term() };
    return e;
  }
  private term(): Expr {
    let e = this.factor();
    while (['*', '//', '%'].includes(this.peek()?.text ?? '')) e = { op: this.take().text, a: e, b: this.factor() };
    return e;
  }
  private factor(): Expr {
    const t = this.take();
    if (t.kind === 'num') return { num: Number(t.text) };
    if (t.text === '-') return { neg: this.factor() };
    if (t.text === '(') {
      const e = this.expr();
      this.take(')');
      return e;
    }
    if (t.kind === 'name' && t.text !== 'print' && t.text !== 'while') return { name: t.text };
    return this.fail(`unexpected "${t.text}"`);
  }
}

function evaluate(e: Expr, vars: Map<string, number>): number {
  if ('num' in e) return e.num;
  if ('name' in e) {
    const v = vars.get(e.name);
    if (v === undefined) throw new SandboxError('runtime', `${e.name} is not defined`);
    return v;
  }
  if ('neg' in e) return -evaluate(e.neg, vars);
  const a = evaluate(e.a, vars);
  const b = evaluate(e.b, vars);
  let r: number;
  if (e.op === '+') r = a + b;
  else if (e.op === '-') r = a - b;
  else if (e.op === '*') r = a * b;
  else {
    if (b === 0) throw new SandboxError('runtime', 'division by zero');
    r = e.op === '//' ? Math.floor(a / b) : a - b * Math.floor(a / b);
  }
  if (!Number.isSafeInteger(r)) throw new SandboxError('runtime', 'integer overflow');
  return r;
}

function compare(a: number, cmp: string, b: number): boolean {
  return cmp === '<' ? a < b : cmp === '>' ? a > b : cmp === '<=' ? a <= b : cmp === '>=' ? a >= b : cmp === '==' ? a === b : a !== b;
}

/** Runs a program; returns its printed lines. Throws SandboxError on bad syntax, runtime errors and exhausted limits. */
export function runProgram(source: string, limits: SandboxLimits = {}): string[] {
  const { maxSteps = 10_000, timeoutMs = 100, maxChars = 4000 } = limits;
  if (source.length > maxChars) throw new SandboxError('syntax', `program longer than ${maxChars} characters`);
  const program = source
    .split('\n')
    .map((line, i) => ({ line, i }))
    .filter(({ line }) => line.trim() !== '')
    .map(({ line, i }) => new Parser(lex(line, i + 1), i + 1).statement());
  const deadline = Date.now() + timeoutMs;
  const vars = new Map<string, number>();
  const printed: string[] = [];
  let steps = 0;
  const tick = () => {
    if (++steps > maxSteps) throw new SandboxError('timeout', `more than ${maxSteps} steps`);
    if ((steps & 255) === 0 && Date.now() > deadline) throw new SandboxError('timeout', `more than ${timeoutMs} ms`);
  };
  for (const s of program) {
    tick();
    if ('print' in s) printed.push(String(evaluate(s.print, vars)));
    else if ('loop' in s) {
      while (compare(evaluate(s.loop.a, vars), s.loop.cmp, evaluate(s.loop.b, vars))) {
        tick();
        vars.set(s.assign, evaluate(s.value, vars));
      }
    } else vars.set(s.assign, evaluate(s.value, vars));
  }
  return printed;
}
