import type { Lanes } from '../../src/core/lanes.ts';

/** The same thing in every lane: a target whose lanes share one queue, as a test needs no more. */
export const everyLane = <T>(value: T): Lanes<T> => ({ high: value, medium: value, low: value });
