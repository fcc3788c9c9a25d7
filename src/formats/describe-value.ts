/** Longest piece of a hostile string an error message quotes. */
const MAX_QUOTED_CHARS = 60;

/**
 * A short, bounded description of a value read from a file, for error messages. Never recursive and
 * never calls the value's own methods: JSON.stringify or String() on a value nested 10,000 deep
 * overflows the stack, and on a megabyte string makes a megabyte message.
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return v.length > MAX_QUOTED_CHARS ? `"${v.slice(0, MAX_QUOTED_CHARS)}…" (${v.length} chars)` : `"${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${v}`;
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) {
    const scalars = v.length <= 8 && v.every((x) => typeof x === 'number' || typeof x === 'boolean' || x === null);
    return scalars ? `[${v.map((x) => `${x}`).join(', ')}]` : `a list of ${v.length}`;
  }
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
