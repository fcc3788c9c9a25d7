import { TENSOR_NAMES } from './checkpoint.js';

/** GGUF (llama.cpp) tensor name → canonical HF name, for every tensor of an `nLayers` model. */
export function ggufToCanonicalNames(nLayers: number): Map<string, string> {
  const m = new Map<string, string>([
    ['token_embd.weight', TENSOR_NAMES.embed],
    ['output_norm.weight', TENSOR_NAMES.finalNorm],
    ['output.weight', TENSOR_NAMES.lmHead],
  ]);
  for (let i = 0; i < nLayers; i++) {
    const n = TENSOR_NAMES.layer(i);
    const b = `blk.${i}.`;
    m.set(`${b}attn_norm.weight`, n.attnNorm);
    m.set(`${b}attn_q.weight`, n.wq);
    m.set(`${b}attn_k.weight`, n.wk);
    m.set(`${b}attn_v.weight`, n.wv);
    m.set(`${b}attn_output.weight`, n.wo);
    m.set(`${b}attn_q.bias`, n.bq);
    m.set(`${b}attn_k.bias`, n.bk);
    m.set(`${b}attn_v.bias`, n.bv);
    m.set(`${b}ffn_norm.weight`, n.ffnNorm);
    m.set(`${b}ffn_gate.weight`, n.wGate);
    m.set(`${b}ffn_up.weight`, n.wUp);
    m.set(`${b}ffn_down.weight`, n.wDown);
  }
  return m;
}
