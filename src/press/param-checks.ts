/** Range checks for press parameters, so a bad value fails with a clear message. */
export function positiveInt(v: unknown, name: string): number {
  if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer, not ${String(v)}`);
  return v;
}

export function nonNegativeInt(v: unknown, name: string): number {
  if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`${name} must be a non-negative integer, not ${String(v)}`);
  return v;
}

export function unitFraction(v: unknown, name: string): number {
  if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], not ${String(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new RangeError(`${name} must be one of ${allowed.join(', ')}, not ${String(v)}`);
  return v as T;
}
