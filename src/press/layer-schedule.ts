import { keepCount } from './budget.js';
import type { Budget } from './press.js';

/** Maps a layer's place in the stack and its entry count T to the entries each head of it keeps. */
export type LayerSchedule = (layer: number, nLayers: number, T: number, budget: Budget) => number;

/** Every layer keeps the same amount (methods.md §0.3). */
export const uniformSchedule: LayerSchedule = (_layer, _nLayers, T, budget) => keepCount(T, budget);
