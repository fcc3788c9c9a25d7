/**
 * BPE merges equivalent to a SentencePiece vocabulary with scores, derived the way Hugging Face's
 * slow→fast converter does: every split `a b` of a mergeable piece where both halves are pieces, ranked
 * by that piece's score (highest first); ties keep piece-id order, then the halves' ids.
 */
export function mergesFromScores(
  pieces: readonly string[],
  scores: readonly number[],
  mergeable: (id: number) => boolean,
): [string, string][] {
  const idOf = new Map<string, number>();
  pieces.forEach((p, id) => idOf.set(p, id));
  const found: { left: string; right: string; score: number; order: number }[] = [];
  pieces.forEach((piece, id) => {
    if (!mergeable(id)) return;
    const chars = Array.from(piece);
    const local: { left: string; right: string; l: number; r: number }[] = [];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      const l = idOf.get(left);
      const r = idOf.get(right);
      if (l !== undefined && r !== undefined) local.push({ left, right, l, r });
    }
    local.sort((x, y) => x.l - y.l || x.r - y.r);
    for (const m of local) found.push({ left: m.left, right: m.right, score: scores[id] ?? 0, order: found.length });
  });
  found.sort((x, y) => y.score - x.score || x.order - y.order);
  return found.map((m) => [m.left, m.right]);
}
