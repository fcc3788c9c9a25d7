/**
 * A uniform number in [0, 1) that depends only on its four integer keys (a counter-based PRNG:
 * murmur3-style mixing), so random scores do not depend on evaluation order or threading.
 */
export function counterUniform(seed: number, a: number, b: number, c: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  for (const k of [a, b, c]) {
    h ^= Math.imul(k + 0x632be5ab, 0xcc9e2d51);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
