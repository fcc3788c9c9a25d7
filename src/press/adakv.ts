import { adaptiveAllocation } from './adaptive-allocation.js';
import { unitFraction } from './param-checks.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress } from './scorer-press.js';

export const adakvEntry: PressEntry = {
  name: 'adakv',
  description: "AdaKV: spreads a layer's budget across heads by comparing an inner press's scores globally",
  params: [
    { name: 'inner', default: 'snapkv', description: 'scoring press whose scores are allocated (with its default parameters)' },
    { name: 'alpha', default: 0.2, description: 'safeguard: each head keeps at least floor(alpha · n_keep) of its best entries' },
  ],
  create: (p, find) => {
    const inner = find(String(p.inner));
    if (!inner.entry.scorer) throw new RangeError(`adakv: press '${inner.entry.name}' has no scores to allocate`);
    return scorerPress('adakv', inner.entry.scorer(inner.params), { allocation: adaptiveAllocation(unitFraction(p.alpha, 'alpha')) });
  },
};
