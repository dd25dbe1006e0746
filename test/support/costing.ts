import type { Costing } from '../../src/core/cost/costing.ts';
import { Cloud } from '../../src/core/cost/model.ts';
import { LIST_PRICES } from '../../src/core/cost/prices.ts';

/** The list prices, with the targets `aws` and `gcp` priced as their clouds: the default settings. */
export const LIST_COSTING: Costing = { prices: LIST_PRICES, clouds: { aws: Cloud.aws, gcp: Cloud.gcp } };
