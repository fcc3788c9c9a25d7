import type { PressEntry } from './registry-entry.js';

/** The no-op press: leaves every layer untouched (the baseline in sweeps). */
export const noneEntry: PressEntry = {
  name: 'none',
  description: 'no compression',
  params: [],
  create: () => ({ name: 'none', compress: () => null }),
};
