// Activations for the int8 dot: per block of 32, d = max|x| / 127 and q = nearest(x / d), stored
// widened to int16 (so the dot needs no per-row sign extension of x), scales as f32 after them.

/** Quantizes `cols` floats at x (cols a multiple of 32) into q (cols × i16) followed by cols/32 f32 scales. */
export function quantizeQ8(x: usize, cols: i32, q: usize): void {
  const scales = q + (<usize>cols << 1);
  for (let b = 0; b < (cols >> 5); b++) {
    const xb = x + (<usize>b << 7);
    let amax: f32 = 0;
    for (let i = 0; i < 32; i++) amax = max(amax, abs(load<f32>(xb + (<usize>i << 2))));
    const d: f32 = amax / 127;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    const qb = q + (<usize>b << 6);
    for (let i = 0; i < 32; i++) store<i16>(qb + (<usize>i << 1), <i16>(<i32>nearest(load<f32>(xb + (<usize>i << 2)) * id)));
    store<f32>(scales + (<usize>b << 2), d);
  }
}
