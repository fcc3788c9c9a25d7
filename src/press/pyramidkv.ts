import { positiveInt } from './param-checks.js';
import { pyramidSchedule } from './pyramid-schedule.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress } from './scorer-press.js';
import { snapkvOptions, snapkvParams, snapkvScorer } from './snapkv.js';

export const pyramidkvEntry: PressEntry = {
  name: 'pyramidkv',
  description: 'PyramidKV: SnapKV scores with a pyramid of layer budgets (more in lower layers, same total)',
  params: [...snapkvParams, { name: 'beta', default: 20, description: 'ratio of the bottom to the top layer budget scale' }],
  create: (p) => {
    const o = snapkvOptions(p);
    return scorerPress('pyramidkv', snapkvScorer(o), { schedule: pyramidSchedule({ window: o.window, beta: positiveInt(p.beta, 'beta') }) });
  },
};
