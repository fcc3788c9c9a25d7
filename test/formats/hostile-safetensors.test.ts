import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { parseSafetensors } from '../../src/formats/safetensors.js';
import { encodeSafetensors } from '../../src/formats/writers/safetensors-writer.js';

const FILE = 'hostile.safetensors';

function rejects(bytes: Uint8Array, pattern?: RegExp, label = ''): void {
  const t0 = performance.now();
  assert.throws(
    () => parseSafetensors(bytes, FILE),
    (e: unknown) => e instanceof FormatError && e.message.startsWith(`${FILE}: `) && (!pattern || pattern.test(e.message)),
    label,
  );
  assert.ok(performance.now() - t0 < 200, `${label} took ${performance.now() - t0} ms`);
}

/** A file with a hand-written header (any JSON text) and `dataLen` data bytes. */
function withHeader(header: unknown, dataLen: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.byteLength + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  return out;
}
const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({ t: { dtype, shape, data_offsets: offsets } });

test('safetensors base file is valid; tensors are views of the right bytes', () => {
  const bytes = encodeSafetensors([
    { name: 'a', dtype: 'f32', shape: [2, 2], data: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) },
    { name: 'b', dtype: 'bf16', shape: [3], data: new Uint8Array([1, 2, 3, 4, 5, 6]) },
  ]);
  const f = parseSafetensors(bytes, FILE);
  assert.deepEqual(f.metadata, { format: 'pt' });
  assert.deepEqual(Array.from(new Float32Array(f.tensors[0]!.data.slice().buffer)), [1, 2, 3, 4]);
  assert.deepEqual([...f.tensors[1]!.data], [1, 2, 3, 4, 5, 6]);
  assert.equal(f.tensors[1]!.dtype, 'bf16');
});

test('safetensors truncated at every byte is a FormatError', () => {
  const bytes = encodeSafetensors([
    { name: 'a', dtype: 'f32', shape: [2, 2], data: new Uint8Array(16) },
    { name: 'b', dtype: 'f16', shape: [3], data: new Uint8Array(6) },
  ]);
  for (let len = 0; len < bytes.byteLength; len++) rejects(bytes.subarray(0, len), undefined, `truncated at ${len}`);
});

test('safetensors header length: huge, past the end, not JSON, not an object', () => {
  const b = withHeader({}, 0);
  new DataView(b.buffer).setBigUint64(0, 1n << 60n, true);
  rejects(b, /too large/);
  new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
  rejects(b, /absurd/);
  new DataView(b.buffer).setBigUint64(0, 1000n, true);
  rejects(b, /truncated/);
  rejects(withHeader('{"t": ', 0), /not valid JSON/);
  rejects(withHeader('[1,2]', 0), /not a JSON object/);
  rejects(withHeader({ t: 5 }, 0), /entry is not an object/);
  rejects(withHeader({ __metadata__: 3 }, 0), /__metadata__/);
});

test('safetensors tensor entries: unknown dtypes, bad shapes, bad or inconsistent offsets', () => {
  rejects(withHeader(entry('I64', [1], [0, 8]), 8), /unsupported dtype "I64"/);
  rejects(withHeader(entry(undefined, [1], [0, 4]), 4), /unsupported dtype/);
  rejects(withHeader(entry('F32', [-1], [0, 4]), 4), /shape/);
  rejects(withHeader(entry('F32', [1.5], [0, 4]), 4), /shape/);
  rejects(withHeader(entry('F32', 'x', [0, 4]), 4), /shape/);
  rejects(withHeader(entry('F32', [2 ** 40, 2 ** 40], [0, 4]), 4), /absurd/);
  rejects(withHeader(entry('F32', [2 ** 40], [0, 4]), 4), /needs/);
  rejects(withHeader(entry('F32', [1], [0, 2 ** 40]), 4), /outside the data section/);
  rejects(withHeader(entry('F32', [1], [8, 4]), 8), /outside the data section/);
  rejects(withHeader(entry('F32', [1], [0, 8]), 8), /span 8 bytes/);
  rejects(withHeader(entry('F32', [1], [0]), 4), /data_offsets/);
  rejects(withHeader(entry('F32', [1], [-4, 0]), 4), /data_offsets/);
  rejects(withHeader(entry('F32', [1], ['0', '4']), 4), /data_offsets/);
  rejects(withHeader(entry('F16', [3], [0, 4]), 4), /needs 6/);
});
