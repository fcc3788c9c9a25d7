import { HeadCache } from './head-cache.js';
import { codeBytes, dequantizeCode, quantizeGroup, type QuantBits } from './quantizer.js';

/** KIVI storage settings (methods.md §13): bits, group size G, full-precision residual R (a multiple of G). */
export interface KvQuantOptions {
  bits: QuantBits;
  group: number;
  residual: number;
}

export const kvQuantDefaults = { group: 32, residual: 128 } as const;

export function checkKvQuant(o: KvQuantOptions): KvQuantOptions {
  if (o.bits !== 8 && o.bits !== 4) throw new RangeError(`KV quantisation bits must be 8 or 4, not ${String(o.bits)}`);
  if (!(Number.isSafeInteger(o.group) && o.group >= 1)) throw new RangeError(`KV quantisation group ${o.group} must be a positive integer`);
  if (!(Number.isSafeInteger(o.residual) && o.residual >= o.group && o.residual % o.group === 0))
    throw new RangeError(`KV quantisation residual ${o.residual} must be a positive multiple of the group size ${o.group}`);
  return o;
}

/**
 * A KIVI head's stored state, live parts only: positions, attention sums (when tracked), key blocks
 * (codes, min, scale per channel), the float32 key tail, quantised values (codes, min, scale per
 * group) and the float32 value tail. A head rebuilt from it (`fromState`) is bit-identical.
 */
export interface KiviHeadState {
  length: number;
  /** Quantised key blocks of G entries; the last `keyTail` entries' keys are float32. */
  keyBlocks: number;
  keyTail: number;
  /** Entries whose value is float32 (the newest); the others are quantised. */
  valueTail: number;
  positions: Int32Array;
  attentionSums: Float32Array | null;
  keyCodes: Uint8Array;
  keyMin: Float32Array;
  keyScale: Float32Array;
  keyTailValues: Float32Array;
  valueCodes: Uint8Array;
  valueMin: Float32Array;
  valueScale: Float32Array;
  valueTailValues: Float32Array;
}

/** Element counts of a state's arrays (bytes for the codes), from its counters. */
export interface KiviStateSizes {
  keyCodes: number;
  keyMinMax: number;
  keyTail: number;
  valueCodes: number;
  valueMinMax: number;
  valueTail: number;
}

/** The one decoded copy of a quantised head's keys (or values) that attention reads; shared, so caches hold no float copy. */
interface Decoded {
  buf: Float32Array;
  owner: QuantizedHeadCache | null;
  version: number;
}
const decodedKeys: Decoded = { buf: new Float32Array(0), owner: null, version: -1 };
const decodedValues: Decoded = { buf: new Float32Array(0), owner: null, version: -1 };

/**
 * A HeadCache stored KIVI-style: keys quantised per channel in blocks of G tokens, values per token
 * in groups of channels, the newest entries in float32 (keys: 0…R−1 since the last block flush;
 * values: the last R). `keys`/`values` decode into one buffer shared by all quantised heads: it is
 * valid until another quantised head's keys (values) are read. Eviction decodes, compacts and
 * re-quantises (methods.md §13, kvtrim choice).
 */
export class QuantizedHeadCache extends HeadCache {
  private version = 0;
  /** Channels per value group: the largest divisor of headDim not above G. */
  private readonly vGroup: number;
  private kCodes = new Uint8Array(0);
  private kMin = new Float32Array(0);
  private kScale = new Float32Array(0);
  private kBlocks = 0;
  private readonly kTail: Float32Array;
  private kTailLen = 0;
  private vCodes = new Uint8Array(0);
  private vMin = new Float32Array(0);
  private vScale = new Float32Array(0);
  private vQuantised = 0;
  private readonly vTail: Float32Array;
  private vTailLen = 0;

  constructor(
    headDim: number,
    readonly quant: KvQuantOptions,
    trackAttentionSums = false,
  ) {
    super(headDim, 16, trackAttentionSums);
    checkKvQuant(quant);
    // The base float buffers are never used: drop them to one entry.
    this.keyBuf = new Float32Array(headDim);
    this.valueBuf = new Float32Array(headDim);
    this.vGroup = valueGroup(headDim, quant.group);
    this.kTail = new Float32Array(quant.residual * headDim);
    this.vTail = new Float32Array((quant.residual + 1) * headDim);
  }

  override get keys(): Float32Array {
    return this.decoded(decodedKeys, (out) => this.decodeKeys(out));
  }

  override get values(): Float32Array {
    return this.decoded(decodedValues, (out) => this.decodeValues(out));
  }

  override append(k: Float32Array, kOff: number, v: Float32Array, vOff: number, position: number): void {
    const d = this.headDim;
    const { group: G, residual: R } = this.quant;
    if (this.length === this.capacity) this.growEntries(this.capacity * 2);
    this.positions[this.length] = position;
    if (this.attentionSums) this.attentionSums[this.length] = 0;
    this.kTail.set(k.subarray(kOff, kOff + d), this.kTailLen++ * d);
    if (this.kTailLen === R) {
      for (let b = 0; b < R / G; b++) this.quantiseKeyBlock(b * G * d);
      this.kTailLen = 0;
    }
    this.vTail.set(v.subarray(vOff, vOff + d), this.vTailLen++ * d);
    if (this.vTailLen > R) {
      this.quantiseValue(0);
      this.vTail.copyWithin(0, d, this.vTailLen * d);
      this.vTailLen--;
    }
    this.length++;
    this.version++;
  }

  override keep(indices: Int32Array): void {
    const d = this.headDim;
    let prev = -1;
    for (const r of indices) {
      if (!(r > prev && r < this.length)) throw new RangeError(`keep: index ${r} not sorted, unique and < ${this.length}`);
      prev = r;
    }
    const K = this.keys.slice(0, this.length * d);
    const V = this.values.slice(0, this.length * d);
    const P = this.positions.slice(0, this.length);
    const A = this.attentionSums?.slice(0, this.length);
    this.length = this.kBlocks = this.kTailLen = this.vQuantised = this.vTailLen = 0;
    indices.forEach((r, w) => {
      this.append(K, r * d, V, r * d, P[r]!);
      if (A) this.attentionSums![w] = A[r]!;
    });
    this.version++;
  }

  /** Empties the head; its buffers are on the JS heap, which the collector sees, so they are kept for reuse. */
  override free(): void {
    this.length = this.kBlocks = this.kTailLen = this.vQuantised = this.vTailLen = 0;
    this.version++;
  }

  /** Bytes really stored: packed codes, float32 min and scale per group, the float32 residual and int32 positions. */
  override bytes(): number {
    const d = this.headDim;
    const { bits, group: G } = this.quant;
    const keyBlock = codeBytes(G * d, bits) + 2 * 4 * d;
    const valueToken = codeBytes(d, bits) + 2 * 4 * (d / this.vGroup);
    return this.kBlocks * keyBlock + this.kTailLen * 4 * d + this.vQuantised * valueToken + this.vTailLen * 4 * d + 4 * this.length;
  }

  override clone(): QuantizedHeadCache {
    return QuantizedHeadCache.fromState(this.headDim, this.quant, this.state());
  }

  /** The live state (views into this head's buffers: copy before it changes). */
  state(): KiviHeadState {
    const counters = { length: this.length, keyBlocks: this.kBlocks, keyTail: this.kTailLen, valueTail: this.vTailLen };
    const sizes = QuantizedHeadCache.stateSizes(this.headDim, this.quant, counters);
    return {
      ...counters,
      positions: this.positions.subarray(0, this.length),
      attentionSums: this.attentionSums?.subarray(0, this.length) ?? null,
      keyCodes: this.kCodes.subarray(0, sizes.keyCodes),
      keyMin: this.kMin.subarray(0, sizes.keyMinMax),
      keyScale: this.kScale.subarray(0, sizes.keyMinMax),
      keyTailValues: this.kTail.subarray(0, sizes.keyTail),
      valueCodes: this.vCodes.subarray(0, sizes.valueCodes),
      valueMin: this.vMin.subarray(0, sizes.valueMinMax),
      valueScale: this.vScale.subarray(0, sizes.valueMinMax),
      valueTailValues: this.vTail.subarray(0, sizes.valueTail),
    };
  }

  /**
   * The sizes of a state's arrays from its counters. Throws a RangeError when the counters are not a
   * state `append` and `keep` can reach: keys split into whole blocks plus a tail shorter than R,
   * values into quantised entries plus a tail of at most R.
   */
  static stateSizes(headDim: number, quant: KvQuantOptions, s: Pick<KiviHeadState, 'length' | 'keyBlocks' | 'keyTail' | 'valueTail'>): KiviStateSizes {
    checkKvQuant(quant);
    const { bits, group: G, residual: R } = quant;
    for (const k of ['length', 'keyBlocks', 'keyTail', 'valueTail'] as const)
      if (!(Number.isSafeInteger(s[k]) && s[k] >= 0)) throw new RangeError(`KIVI head ${k} ${s[k]} is not a non-negative integer`);
    if (s.keyBlocks * G + s.keyTail !== s.length) throw new RangeError(`KIVI head: ${s.keyBlocks} key blocks of ${G} and a tail of ${s.keyTail} do not make its length ${s.length}`);
    if (s.keyTail >= R) throw new RangeError(`KIVI head key tail ${s.keyTail} must be shorter than the residual ${R}`);
    if (s.valueTail > Math.min(R, s.length)) throw new RangeError(`KIVI head value tail ${s.valueTail} exceeds the residual ${R} or the length ${s.length}`);
    const vQuantised = s.length - s.valueTail;
    return {
      keyCodes: codeBytes(s.keyBlocks * G * headDim, bits),
      keyMinMax: s.keyBlocks * headDim,
      keyTail: s.keyTail * headDim,
      valueCodes: codeBytes(vQuantised * headDim, bits),
      valueMinMax: vQuantised * (headDim / valueGroup(headDim, G)),
      valueTail: s.valueTail * headDim,
    };
  }

  /** A head holding exactly `s` (copied); RangeError when its counters or array sizes do not fit together. */
  static fromState(headDim: number, quant: KvQuantOptions, s: KiviHeadState): QuantizedHeadCache {
    const sizes = QuantizedHeadCache.stateSizes(headDim, quant, s);
    const got: [string, number, number][] = [
      ['positions', s.positions.length, s.length],
      ['attention sums', s.attentionSums?.length ?? s.length, s.length],
      ['key codes', s.keyCodes.length, sizes.keyCodes],
      ['key mins', s.keyMin.length, sizes.keyMinMax],
      ['key scales', s.keyScale.length, sizes.keyMinMax],
      ['key tail', s.keyTailValues.length, sizes.keyTail],
      ['value codes', s.valueCodes.length, sizes.valueCodes],
      ['value mins', s.valueMin.length, sizes.valueMinMax],
      ['value scales', s.valueScale.length, sizes.valueMinMax],
      ['value tail', s.valueTailValues.length, sizes.valueTail],
    ];
    for (const [what, n, want] of got) if (n !== want) throw new RangeError(`KIVI head ${what}: ${n} elements, its counters need ${want}`);
    const h = new QuantizedHeadCache(headDim, quant, s.attentionSums !== null);
    h.growEntries(Math.max(16, s.length));
    h.positions.set(s.positions);
    if (s.attentionSums) h.attentionSums!.set(s.attentionSums);
    h.kCodes = s.keyCodes.slice();
    h.kMin = s.keyMin.slice();
    h.kScale = s.keyScale.slice();
    h.kTail.set(s.keyTailValues);
    h.vCodes = s.valueCodes.slice();
    h.vMin = s.valueMin.slice();
    h.vScale = s.valueScale.slice();
    h.vTail.set(s.valueTailValues);
    h.length = s.length;
    h.kBlocks = s.keyBlocks;
    h.kTailLen = s.keyTail;
    h.vQuantised = s.length - s.valueTail;
    h.vTailLen = s.valueTail;
    return h;
  }

  /** Entries whose key (value) is stored quantised; the rest are float32. */
  get quantisedEntries(): { keys: number; values: number } {
    return { keys: this.kBlocks * this.quant.group, values: this.vQuantised };
  }

  private decoded(slot: Decoded, decode: (out: Float32Array) => void): Float32Array {
    if (slot.owner !== this || slot.version !== this.version) {
      const need = Math.max(1, this.length) * this.headDim;
      if (slot.buf.length < need) slot.buf = new Float32Array(Math.max(need, 2 * slot.buf.length));
      decode(slot.buf);
      slot.owner = this;
      slot.version = this.version;
    }
    return slot.buf;
  }

  private decodeKeys(out: Float32Array): void {
    const d = this.headDim;
    const { bits, group: G } = this.quant;
    for (let b = 0; b < this.kBlocks; b++)
      for (let r = 0; r < G; r++)
        for (let c = 0; c < d; c++) out[(b * G + r) * d + c] = dequantizeCode(this.kCodes, (b * G + r) * d + c, bits, this.kMin[b * d + c]!, this.kScale[b * d + c]!);
    out.set(this.kTail.subarray(0, this.kTailLen * d), this.kBlocks * G * d);
  }

  private decodeValues(out: Float32Array): void {
    const d = this.headDim;
    const nG = d / this.vGroup;
    for (let t = 0; t < this.vQuantised; t++)
      for (let c = 0; c < d; c++) {
        const g = t * nG + Math.floor(c / this.vGroup);
        out[t * d + c] = dequantizeCode(this.vCodes, t * d + c, this.quant.bits, this.vMin[g]!, this.vScale[g]!);
      }
    out.set(this.vTail.subarray(0, this.vTailLen * d), this.vQuantised * d);
  }

  /** Quantises G tail keys starting at float offset `off` as the next block, one group per channel. */
  private quantiseKeyBlock(off: number): void {
    const d = this.headDim;
    const { bits, group: G } = this.quant;
    const b = this.kBlocks++;
    this.kCodes = fit(this.kCodes, codeBytes((b + 1) * G * d, bits));
    this.kMin = fit(this.kMin, (b + 1) * d);
    this.kScale = fit(this.kScale, (b + 1) * d);
    for (let c = 0; c < d; c++) quantizeGroup(this.kTail, off + c, d, G, bits, this.kCodes, b * G * d + c, d, this.kMin, this.kScale, b * d + c);
  }

  /** Quantises the tail value at row `row` as the next quantised token, one group per vGroup channels. */
  private quantiseValue(row: number): void {
    const d = this.headDim;
    const nG = d / this.vGroup;
    const t = this.vQuantised++;
    this.vCodes = fit(this.vCodes, codeBytes((t + 1) * d, this.quant.bits));
    this.vMin = fit(this.vMin, (t + 1) * nG);
    this.vScale = fit(this.vScale, (t + 1) * nG);
    for (let g = 0; g < nG; g++)
      quantizeGroup(this.vTail, row * d + g * this.vGroup, 1, this.vGroup, this.quant.bits, this.vCodes, t * d + g * this.vGroup, 1, this.vMin, this.vScale, t * nG + g);
  }

  private growEntries(capacity: number): void {
    const p = new Int32Array(capacity);
    p.set(this.positions.subarray(0, this.length));
    this.positions = p;
    if (this.attentionSums) {
      const a = new Float32Array(capacity);
      a.set(this.attentionSums.subarray(0, this.length));
      this.attentionSums = a;
    }
  }
}

/** Channels per value group: the largest divisor of headDim not above G. */
function valueGroup(headDim: number, G: number): number {
  let g = Math.min(G, headDim);
  while (headDim % g !== 0) g--;
  return g;
}

/** `a` with room for n elements (doubling), contents kept. */
function fit<T extends Uint8Array | Float32Array>(a: T, n: number): T {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (len: number) => T)(Math.max(n, 2 * a.length));
  b.set(a);
  return b;
}
