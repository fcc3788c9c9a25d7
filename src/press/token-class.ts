import type { Tokenizer } from '../tokenizer/tokenizer.js';

export const SPECIAL_TOKEN = 1;
export const PUNCT_TOKEN = 2;

/** A piece made only of punctuation, symbol or whitespace characters (FastGen's C_punct; cold-compress's rule). */
export function isPunctuationPiece(piece: string): boolean {
  return /^[\p{P}\p{S}\s]+$/u.test(piece);
}

/** Class bits of each id (SPECIAL_TOKEN, PUNCT_TOKEN), looked up once per distinct id. */
export function tokenClasses(tokenizer: Pick<Tokenizer, 'isSpecial' | 'piece'>, ids: ArrayLike<number>): Uint8Array {
  const memo = new Map<number, number>();
  return Uint8Array.from({ length: ids.length }, (_, i) => {
    const id = ids[i]!;
    let c = memo.get(id);
    if (c === undefined) {
      c = tokenizer.isSpecial(id) ? SPECIAL_TOKEN : isPunctuationPiece(tokenizer.piece(id)) ? PUNCT_TOKEN : 0;
      memo.set(id, c);
    }
    return c;
  });
}
