import type { Seed } from './seeds.js';

/** How a case changes its seed. */
export const MUTATIONS = ['flip-header', 'flip-any', 'truncate', 'extreme-field', 'duplicate-name', 'json-edit', 'chat-template'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export interface Mutated {
  /** The seed's files with one of them changed. */
  files: Record<string, Uint8Array>;
  /** Which file changed, for the table ("gguf-q8_0/model.gguf"). */
  target: string;
  mutation: Mutation;
}

type Rng = () => number;
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);

/** Values that sit on a boundary: zero, one, sign bits, 2^24 (the config limit), 2^31, 2^32 - 1, 2^53, 2^64 - 1. */
const EXTREME_U64 = [0n, 1n, 2n ** 24n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 1000n, 65537n];
const EXTREME_JSON: unknown[] = [
  0, -1, 1.5, 16777216, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, '', 'x'.repeat(100_000), '__proto__', 'constructor', 'toString', null, true, [], {},
  [[[[[[[[1]]]]]]]], { __proto__: 1, constructor: 1 },
];
/** Templates that loop, grow, recurse or raise. */
const HOSTILE_TEMPLATES = [
  '{% for i in range(100000000) %}x{% endfor %}',
  '{% for i in range(3000) %}{% for j in range(3000) %}{{ i }}{% endfor %}{% endfor %}',
  "{% set s = 'ab' %}{% for i in range(64) %}{% set s = s + s %}{% endfor %}{{ s }}",
  "{% set ns = namespace(a=[0]) %}{% for i in range(64) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|length }}",
  "{{ messages[0]['content'] | indent(999999999) }}",
  "{{ messages | tojson(indent=999999999) }}",
  '{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}',
  "{{ raise_exception('hostile') }}",
  '{% for m in messages %}{{ m.content * 1000000 }}{% endfor %}',
  '{{ messages[99999999].content }}{% if %}',
  "{{ range(-1e300, 1e300) | length }}",
];

/** Where the structure of a file ends (the bytes a header flip aims at). */
function headerEnd(name: string, b: Uint8Array): number {
  if (name.endsWith('.safetensors') && b.byteLength >= 8) return Math.min(b.byteLength, 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) & 0xffffffn));
  if (name.endsWith('.gguf')) return Math.min(b.byteLength, ggufFields(b).at(-1)?.end ?? 64);
  if (name.endsWith('.bin')) return Math.min(b.byteLength, new DataView(b.buffer, b.byteOffset).getUint32(0, true) === 0x616b3432 ? 256 : 28);
  return b.byteLength;
}

/** Mutates one file of `seed`, chosen with `rng`; the same rng state gives the same case. */
export function mutate(seed: Seed, mutation: Mutation, rng: Rng): Mutated {
  const names = Object.keys(seed.files).filter((n) => applies(mutation, n));
  const name = pick(rng, names.length > 0 ? names : Object.keys(seed.files));
  const original = seed.files[name]!;
  const bytes = edit(name, original.slice(), mutation, rng);
  return { files: { ...seed.files, [name]: bytes }, target: `${seed.name}/${name}`, mutation };
}

export function applies(mutation: Mutation, name: string): boolean {
  if (mutation === 'chat-template') return name === 'tokenizer_config.json';
  if (mutation === 'json-edit') return name.endsWith('.json') || name.endsWith('.safetensors');
  if (mutation === 'duplicate-name') return name.endsWith('.gguf') || name.endsWith('.safetensors');
  if (mutation === 'extreme-field') return !name.endsWith('.json');
  return true;
}

function edit(name: string, b: Uint8Array, mutation: Mutation, rng: Rng): Uint8Array {
  switch (mutation) {
    case 'flip-header':
    case 'flip-any': {
      const end = mutation === 'flip-header' ? Math.max(1, headerEnd(name, b)) : b.byteLength;
      for (let k = 1 + int(rng, 4); k > 0 && b.byteLength > 0; k--) b[int(rng, end)]! ^= 1 << int(rng, 8);
      return b;
    }
    case 'truncate':
      return b.subarray(0, int(rng, b.byteLength));
    case 'extreme-field':
      return extremeField(name, b, rng);
    case 'duplicate-name':
      return name.endsWith('.gguf') ? duplicateGgufName(b, rng) : editSafetensorsHeader(b, (text) => duplicateJsonKey(text, rng));
    case 'json-edit':
      return name.endsWith('.safetensors') ? editSafetensorsHeader(b, (text) => editJsonText(text, rng)) : Buffer.from(editJsonText(Buffer.from(b).toString('utf8'), rng));
    case 'chat-template': {
      const j = JSON.parse(Buffer.from(b).toString('utf8')) as Record<string, unknown>;
      return Buffer.from(JSON.stringify({ ...j, chat_template: pick(rng, HOSTILE_TEMPLATES) }));
    }
  }
}

/** Overwrites one length, count, offset, dimension or type field with a boundary value. */
function extremeField(name: string, b: Uint8Array, rng: Rng): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: { at: number; size: 4 | 8 }[] =
    name.endsWith('.gguf') ? ggufFields(b).map(({ at, size }) => ({ at, size }))
    : name.endsWith('.safetensors') ? [{ at: 0, size: 8 }]
    : name === 'tokenizer.bin' ? [{ at: 0, size: 4 }, { at: 8, size: 4 }]
    : Array.from({ length: headerEnd(name, b) === 256 ? 10 : 7 }, (_, i) => ({ at: 4 * i, size: 4 as const }));
  const f = pick(rng, fields.filter((x) => x.at + x.size <= b.byteLength));
  if (!f) return b;
  const v = pick(rng, EXTREME_U64);
  if (f.size === 8) dv.setBigUint64(f.at, v, true);
  else dv.setUint32(f.at, Number(v & 0xffffffffn), true);
  return b;
}

/**
 * The numeric fields of a GGUF header: counts, string lengths, value and array types, array counts,
 * integer values, and each tensor's n_dims, dims, type and offset. Stops where the file stops making sense.
 */
export function ggufFields(b: Uint8Array): { at: number; size: 4 | 8; end: number }[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: { at: number; size: 4 | 8; end: number }[] = [];
  let p = 0;
  // Fields are recorded for the first elements of an array only; the rest are walked past.
  let quiet = 0;
  const field = (size: 4 | 8): number => {
    if (p + size > b.byteLength) throw new RangeError('end');
    const v = size === 4 ? dv.getUint32(p, true) : Number(dv.getBigUint64(p, true));
    if (quiet === 0) out.push({ at: p, size, end: p + size });
    p += size;
    return v;
  };
  const string = () => {
    const n = field(8); // not `p += field(8)`: that reads p before field() moves it
    p += n;
  };
  const value = (type: number, depth: number): void => {
    const scalar: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 6: 4, 7: 1, 12: 8 };
    if (type === 4 || type === 5) field(4);
    else if (type === 10 || type === 11) field(8);
    else if (type === 8) string();
    else if (type === 9 && depth < 2) {
      const elem = field(4);
      const n = field(8);
      if (scalar[elem] !== undefined) p += n * scalar[elem]!;
      else {
        let muted = false;
        for (let i = 0; i < n && p < b.byteLength; i++) {
          if (i === 16) (quiet++, (muted = true));
          value(elem, depth + 1);
        }
        if (muted) quiet--;
      }
    } else if (scalar[type] !== undefined) p += scalar[type]!;
    else throw new RangeError('type');
  };
  try {
    p = 8;
    const tensors = field(8);
    const kvs = field(8);
    for (let i = 0; i < kvs && p < b.byteLength; i++) {
      string();
      value(field(4), 0);
    }
    for (let i = 0; i < tensors && p < b.byteLength; i++) {
      string();
      const dims = field(4);
      for (let d = 0; d < dims && d < 4; d++) field(8);
      field(4);
      field(8);
    }
  } catch {
    // a long array or a mutated field: the fields found so far are enough to aim at
  }
  return out;
}

/** Copies one GGUF tensor name over another of the same length (or over the first key of that length). */
function duplicateGgufName(b: Uint8Array, rng: Rng): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const strings = ggufFields(b)
    .filter((f) => f.size === 8)
    .map((f) => ({ at: f.end, len: Number(dv.getBigUint64(f.at, true)) }))
    .filter((s) => s.len > 0 && s.len < 200 && s.at + s.len <= b.byteLength);
  const a = pick(rng, strings);
  const same = strings.filter((s) => s.len === a?.len && s.at !== a.at);
  if (!a || same.length === 0) return b;
  b.copyWithin(pick(rng, same).at, a.at, a.at + a.len);
  return b;
}

/** Rebuilds a safetensors file with its header JSON text edited, keeping the data bytes. */
function editSafetensorsHeader(b: Uint8Array, change: (text: string) => string): Uint8Array {
  if (b.byteLength < 8) return b;
  const len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  if (8 + len > b.byteLength) return b;
  const text = Buffer.from(change(Buffer.from(b.subarray(8, 8 + len)).toString('utf8')));
  const out = Buffer.alloc(8 + text.byteLength + (b.byteLength - 8 - len));
  out.writeBigUInt64LE(BigInt(text.byteLength));
  text.copy(out, 8);
  out.set(b.subarray(8 + len), 8 + text.byteLength);
  return out;
}

/** Renames one key of a JSON object text to another key of the same object (JSON.parse keeps the last). */
function duplicateJsonKey(text: string, rng: Rng): string {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof j !== 'object' || j === null) return text;
  const keys = Object.keys(j);
  if (keys.length < 2) return text;
  const [a, b] = [pick(rng, keys), pick(rng, keys)];
  return text.replace(JSON.stringify(a) + ':', JSON.stringify(b) + ':');
}

/** One edit at a random place of a JSON text: a value replaced by a boundary value, a key deleted, or an array element repeated. */
export function editJsonText(text: string, rng: Rng): string {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return text;
  }
  const holder = { root };
  // Walk down a random path, preferring to stop at shallow depths.
  let parent: Record<string, unknown> | unknown[] = holder;
  let key: string | number = 'root';
  for (let depth = 0; depth < 6; depth++) {
    const v: unknown = (parent as Record<string, unknown>)[key as string];
    if (typeof v !== 'object' || v === null || rng() < 0.25) break;
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    if (keys.length === 0) break;
    parent = v as Record<string, unknown>;
    key = pick(rng, keys);
  }
  const r = rng();
  if (r < 0.15 && !Array.isArray(parent) && parent !== holder) delete (parent as Record<string, unknown>)[key as string];
  else if (r < 0.25 && Array.isArray(parent)) parent.splice(key as number, 0, parent[key as number]);
  else if (r < 0.32) (parent as Record<string, unknown>)[key as string] = DEEP;
  else (parent as Record<string, unknown>)[key as string] = pick(rng, EXTREME_JSON);
  // Arrays nested 10,000 deep are spliced in as text: JSON.stringify would recurse on them.
  return JSON.stringify(holder.root).replace(JSON.stringify(DEEP), '['.repeat(10_000) + ']'.repeat(10_000));
}

const DEEP = '\u0000deep\u0000';
