import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { parseGguf } from '../../src/formats/gguf.js';
import { encodeGguf, gguf } from '../../src/formats/writers/gguf-encoder.js';

const FILE = 'hostile.gguf';

/** Asserts a FormatError naming the file, thrown quickly (nothing of a claimed huge size was allocated or looped). */
function rejects(bytes: Uint8Array, pattern?: RegExp, label = ''): void {
  const t0 = performance.now();
  assert.throws(
    () => parseGguf(bytes, FILE),
    (e: unknown) => e instanceof FormatError && e.message.startsWith(`${FILE}: `) && (!pattern || pattern.test(e.message)),
    label,
  );
  assert.ok(performance.now() - t0 < 200, `${label} took ${performance.now() - t0} ms`);
}

const base = () =>
  encodeGguf(
    {
      'general.architecture': gguf.string('llama'),
      'llama.block_count': gguf.u32(1),
      'tokenizer.ggml.tokens': gguf.array('string', ['a', 'bc']),
      'tokenizer.ggml.scores': gguf.array('f32', [0.5, -1]),
    },
    [
      { name: 'token_embd.weight', dtype: 'f32', shape: [2, 3], data: new Uint8Array(24).fill(1) },
      { name: 'blk.0.attn_q.weight', dtype: 'q8_0', shape: [1, 32], data: new Uint8Array(34).fill(2) },
    ],
  );

/** Byte offset just after the first occurrence of `s` (a key or tensor name) in the file. */
function after(bytes: Uint8Array, s: string): number {
  const i = Buffer.from(bytes).indexOf(s);
  assert.ok(i >= 0, s);
  return i + Buffer.byteLength(s);
}
function patched(at: number, write: (dv: DataView) => void): Uint8Array {
  const b = base().slice();
  write(new DataView(b.buffer, at));
  return b;
}
const u64 = (at: number, v: bigint) => patched(at, (dv) => dv.setBigUint64(0, v, true));
const u32 = (at: number, v: number) => patched(at, (dv) => dv.setUint32(0, v, true));

test('the hostile-test base file is valid', () => {
  const g = parseGguf(base(), FILE);
  assert.deepEqual(g.metadata['tokenizer.ggml.tokens'], ['a', 'bc']);
  assert.deepEqual(g.tensors.map((t) => [t.name, t.dtype, t.shape]), [['token_embd.weight', 'f32', [2, 3]], ['blk.0.attn_q.weight', 'q8_0', [1, 32]]]);
  assert.deepEqual([...g.tensors[1]!.data], new Array(34).fill(2));
});

test('GGUF truncated at every byte is a FormatError', () => {
  const b = base();
  for (let len = 0; len < b.byteLength; len++) rejects(b.subarray(0, len), undefined, `truncated at ${len}`);
});

test('GGUF header: bad magic, unsupported versions, absurd counts', () => {
  rejects(patched(0, (dv) => dv.setUint32(0, 0x12345678, true)), /bad magic/);
  rejects(u32(4, 1), /version 1/);
  rejects(u32(4, 4), /version 4/);
  rejects(u64(8, 1n << 60n), /tensor count/);
  rejects(u64(16, 1n << 60n), /metadata count .* too large/);
  rejects(u64(16, 1n << 50n), /metadata entries/);
  rejects(u64(8, 1n << 50n), /tensor infos/);
  rejects(u64(8, 0xffffffffffffffffn), /too large/);
  rejects(u64(8, 1000n), /tensor infos/);
});

test('GGUF metadata: huge string and array lengths, unknown types, bad bools, deep nesting', () => {
  const b = base();
  rejects(u64(24, 1n << 60n), /metadata key 0/); // first key's length
  const tokensKey = after(b, 'tokenizer.ggml.tokens');
  rejects(u64(tokensKey + 8, 1n << 60n), /array count .* too large/); // array count, after value type and element type
  rejects(u64(tokensKey + 8, 1n << 50n), /array of/);
  rejects(u64(tokensKey + 8, 3n), undefined, 'array count one too many');
  rejects(u64(tokensKey + 16, 1n << 59n), /'tokenizer\.ggml\.tokens'/); // first string's length
  rejects(u32(tokensKey, 13), /unknown value type 13/);
  rejects(u32(tokensKey + 4, 77), /unknown array element type 77/);
  const arch = after(b, 'general.architecture');
  rejects(u64(arch + 4, 1n << 62n), /too large/);
  rejects(u64(arch + 4, 1n << 40n), /truncated/);
  // A bool of value 7, and arrays nested deeper than 4.
  const bool = encodeGguf({ flag: gguf.bool(true) }, []);
  bool[bool.byteLength - 1] = 7;
  rejects(bool, /invalid bool/);
  const nested = new Uint8Array(4096);
  const dv = new DataView(nested.buffer);
  dv.setUint32(0, 0x46554747, true);
  dv.setUint32(4, 3, true);
  dv.setBigUint64(16, 1n, true);
  dv.setBigUint64(24, 1n, true);
  nested[32] = 'k'.charCodeAt(0);
  let p = 33;
  dv.setUint32(p, 9, true);
  p += 4;
  for (let i = 0; i < 50; i++, p += 12) {
    dv.setUint32(p, 9, true);
    dv.setBigUint64(p + 4, 1n, true);
  }
  rejects(nested, /nests arrays deeper/);
});

test('GGUF tensor infos: n_dims 0 and 99, absurd dims, unknown types, bad offsets, partial blocks, duplicates', () => {
  const b = base();
  const embd = after(b, 'token_embd.weight'); // n_dims u32, ne0, ne1 u64, type u32, offset u64
  rejects(u32(embd, 99), /n_dims 99/);
  rejects(u32(embd, 0), /n_dims 0/);
  rejects(u64(embd + 4, 1n << 40n), /past the end/);
  rejects(patched(embd + 4, (dv) => (dv.setBigUint64(0, 1n << 40n, true), dv.setBigUint64(8, 1n << 40n, true))), /absurd dimensions/);
  rejects(u64(embd + 4, 1n << 63n), /too large/);
  rejects(u32(embd + 20, 99), /unsupported tensor type 99/);
  rejects(u32(embd + 20, 16), /unsupported tensor type 16/); // IQ2_XXS: not supported
  rejects(u64(embd + 24, 1n << 50n), /past the end/);
  rejects(u64(embd + 24, 4n), /not aligned/);
  const q = after(b, 'blk.0.attn_q.weight');
  rejects(patched(q, (dv) => (dv.setBigUint64(4, 16n, true), dv.setBigUint64(12, 2n, true))), /whole number of q8_0 blocks/);
  rejects(u64(q - 'blk.0.attn_q.weight'.length - 8, 1n << 58n), /tensor 1 name/);
  const dup = encodeGguf({}, [
    { name: 'x', dtype: 'f32', shape: [1], data: new Uint8Array(4) },
    { name: 'x', dtype: 'f32', shape: [1], data: new Uint8Array(4) },
  ]);
  rejects(dup, /duplicate tensor 'x'/);
  rejects(encodeGguf({ a: gguf.u32(1) }, []).slice(0, -4), /truncated/);
});

test('GGUF general.alignment must be a power of two; a valid non-default alignment is honoured', () => {
  rejects(encodeGguf({ 'general.alignment': gguf.u32(24) }, []), /alignment/);
  rejects(encodeGguf({ 'general.alignment': gguf.string('32') }, []), /alignment/);
  rejects(encodeGguf({ 'general.alignment': gguf.u32(0) }, []), /alignment/);
  // alignment 16 with one tensor whose data sits at the 16-aligned position: re-encode by hand.
  const file = encodeGguf({ 'general.alignment': gguf.u32(16) }, [{ name: 'tensor0', dtype: 'f32', shape: [4], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) }]);
  const infoEnd = after(file, 'tensor0') + 4 + 8 + 4 + 8;
  const start16 = Math.ceil(infoEnd / 16) * 16;
  const moved = new Uint8Array(start16 + 16);
  moved.set(file.subarray(0, infoEnd));
  moved.set(file.subarray(file.byteLength - 16), start16);
  assert.deepEqual(Array.from(new Float32Array(parseGguf(moved, FILE).tensors[0]!.data.slice().buffer)), [1, 2, 3, 4]);
});

test('GGUF 64-bit metadata values: safe ones become numbers, unsafe ones are rejected', () => {
  const ok = parseGguf(encodeGguf({ a: { type: 'u64', value: 2 ** 53 - 1 }, b: { type: 'i64', value: -5 } }, []), FILE);
  assert.deepEqual([ok.metadata.a, ok.metadata.b], [2 ** 53 - 1, -5]);
  const big = encodeGguf({ a: { type: 'u64', value: 1 } }, []);
  new DataView(big.buffer).setBigUint64(big.byteLength - 8, 1n << 60n, true);
  rejects(big, /too large/);
  const neg = encodeGguf({ a: { type: 'i64', value: 1 } }, []);
  new DataView(neg.buffer).setBigInt64(neg.byteLength - 8, -(1n << 60n), true);
  rejects(neg, /safe integer/);
});
