import { type Cloud, costUsd, type TryUsage, tryCostUsd } from './model.ts';
import type { Prices } from './prices.ts';

/** How a runtime prices its targets' tries: the prices, and the cloud each target is modelled as. */
export interface Costing {
  prices: Prices;
  /** Each target's cloud: on the engine `cost.target_clouds`, on the cloud its queue's kind. */
  clouds: Readonly<Record<string, Cloud>>;
}

/** What a target's tries cost, or undefined for a target whose cloud is not known. */
export const targetCostUsd = (costing: Costing, target: string, usage: TryUsage): number | undefined => {
  const cloud = costing.clouds[target];
  return cloud === undefined ? undefined : costUsd(cloud, usage, costing.prices);
};

/** What a try of a chunk of `bytes` is modelled to cost on a target, for the `cheapest` strategy. */
export const chunkCostOn =
  (costing: Costing, target: string) =>
  (bytes: number): number => {
    const cloud = costing.clouds[target];
    return cloud === undefined ? Number.POSITIVE_INFINITY : tryCostUsd(cloud, bytes, costing.prices);
  };
