import { z } from 'zod';

/** Every quantile of a {@link ValueSketch} is within this fraction of the true value (see the guarantee). */
export const SKETCH_RELATIVE_ERROR = 0.01;

/** The most bins a sketch keeps for each sign. */
export const MAX_SKETCH_BINS = 2048;

const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
/** log(2 / (gamma + 1)): bin k's estimate 2 gamma^k / (gamma + 1), in logs so gamma^k cannot overflow. */
const LOG_MIDPOINT = Math.log(2 / (GAMMA + 1));

/** [bin key, count]: key k counts the magnitudes in (gamma^(k-1), gamma^k]. */
export type SketchBin = [key: number, count: number];

/** The plain form of a sketch: JSON round-trips it, and the same values always give the same one. */
export interface ValueSketchData {
  count: number;
  /** Values equal to 0 (or -0). */
  zeros: number;
  /** The least and greatest values, exact; null when the sketch is empty. */
  min: number | null;
  max: number | null;
  /** Bins of the negative values by magnitude, sorted by key. */
  negative: SketchBin[];
  /** Bins of the positive values, sorted by key. */
  positive: SketchBin[];
}

/** [integer key, positive integer count] pairs: checked in one loop, as a sketch has up to 4096 of them. */
const binsSchema = z.custom<SketchBin[]>(
  (bins) =>
    Array.isArray(bins) &&
    bins.every(
      (bin) =>
        Array.isArray(bin) &&
        bin.length === 2 &&
        Number.isSafeInteger(bin[0]) &&
        Number.isSafeInteger(bin[1]) &&
        (bin[1] as number) > 0,
    ),
  { message: 'not a list of [integer key, positive count] bins' },
);

const addsUp = (data: ValueSketchData): boolean =>
  data.count === [...data.negative, ...data.positive].reduce((sum, [, count]) => sum + count, data.zeros);

const extremesFit = ({ count, min, max }: ValueSketchData): boolean =>
  count === 0 ? min === null && max === null : min !== null && max !== null && min <= max;

/** The shape of a {@link ValueSketchData}, with counts that add up and min and max set when not empty. */
export const valueSketchDataSchema = z
  .strictObject({
    count: z.int().nonnegative(),
    zeros: z.int().nonnegative(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    negative: binsSchema,
    positive: binsSchema,
  })
  .refine(addsUp, { message: 'the bin counts and zeros do not add up to count' })
  .refine(extremesFit, { message: 'min and max do not fit count' });

/**
 * The bins of one sign, at most {@link MAX_SKETCH_BINS} consecutive keys below the highest one: a lower
 * key is counted in the lowest kept bin. What is kept depends only on the highest key, so bins collapsed in
 * any order, or merged in any order, end the same.
 */
class SignBins {
  readonly #counts = new Map<number, number>();
  /** The lowest and highest keys present, when there is one. */
  #lowest = 0;
  #highest = 0;
  #sorted: SketchBin[] | undefined;

  add(key: number, count: number): void {
    this.#sorted = undefined;
    if (this.#counts.size === 0) {
      this.#lowest = key;
      this.#highest = key;
    } else if (key > this.#highest) {
      this.#highest = key;
      this.#collapse();
    }
    const at = Math.max(key, this.#floor());
    this.#counts.set(at, (this.#counts.get(at) ?? 0) + count);
    this.#lowest = Math.min(this.#lowest, at);
  }

  /** The bins in increasing key order. */
  sorted(): SketchBin[] {
    this.#sorted ??= [...this.#counts.entries()].sort((a, b) => a[0] - b[0]);
    return this.#sorted;
  }

  #floor(): number {
    return this.#highest - (MAX_SKETCH_BINS - 1);
  }

  #collapse(): void {
    const floor = this.#floor();
    if (this.#lowest >= floor) return;
    let folded = 0;
    const fold = (key: number): void => {
      folded += this.#counts.get(key) ?? 0;
      this.#counts.delete(key);
    };
    // Whichever is shorter: the keys between, or the bins there are.
    if (floor - this.#lowest <= this.#counts.size) {
      for (let key = this.#lowest; key < floor; key++) fold(key);
    } else {
      for (const key of this.#counts.keys()) if (key < floor) fold(key);
    }
    this.#counts.set(floor, (this.#counts.get(floor) ?? 0) + folded);
    this.#lowest = floor;
  }
}

/** The estimate of the magnitudes in bin `key`: within SKETCH_RELATIVE_ERROR of every one of them. */
const binValue = (key: number): number => Math.exp(key * LOG_GAMMA + LOG_MIDPOINT);

/**
 * A DDSketch of any finite doubles: negative, zero and positive. Bin counts add, so merging is exact and
 * sketches merged in any order equal the sketch of all their values.
 *
 * Guarantee: {@link quantile} is within SKETCH_RELATIVE_ERROR (1%) of the true value at its rank, relative
 * to that value's magnitude (exact for 0, for the min and the max, and clamped to them), for every value whose
 * magnitude is at least the largest magnitude of its sign divided by gamma^2047 ~ 6.03e17
 * (gamma = 1.01 / 0.99). Smaller magnitudes of the same sign are counted in the lowest kept bin, so they read
 * as up to that bound; a sign's values spanning less than 6.03e17 (as 1e-6 to 6e11) are all within 1%.
 * Subnormal magnitudes (below 2^-1022) may be estimated less precisely.
 */
export class ValueSketch {
  readonly #negative = new SignBins();
  readonly #positive = new SignBins();
  #zeros = 0;
  #count = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /** A sketch of the values `data` (from toJSON, or checked by valueSketchDataSchema) describes. */
  static from(data: ValueSketchData): ValueSketch {
    const sketch = new ValueSketch();
    sketch.merge(data);
    return sketch;
  }

  get count(): number {
    return this.#count;
  }

  /** Counts a finite value; a RangeError for NaN or an infinity. */
  add(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`a value sketch counts finite values, not ${value}`);
    if (value === 0) this.#zeros++;
    else {
      const key = Math.ceil(Math.log(Math.abs(value)) / LOG_GAMMA);
      (value > 0 ? this.#positive : this.#negative).add(key, 1);
    }
    this.#count++;
    this.#min = Math.min(this.#min, value);
    this.#max = Math.max(this.#max, value);
  }

  /** Adds the values of another sketch: exactly what adding them one by one would count. */
  merge(data: ValueSketchData): void {
    for (const [key, count] of data.negative) this.#negative.add(key, count);
    for (const [key, count] of data.positive) this.#positive.add(key, count);
    this.#zeros += data.zeros;
    this.#count += data.count;
    this.#min = Math.min(this.#min, data.min ?? Number.POSITIVE_INFINITY);
    this.#max = Math.max(this.#max, data.max ?? Number.NEGATIVE_INFINITY);
  }

  /**
   * The value at rank max(1, ceil(q * count)) (1-based) of the values in increasing order, within the
   * guarantee above, and exact at the first and last ranks (the min and the max); null when the sketch is
   * empty. A RangeError when q is not in [0, 1].
   */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile is between 0 and 1, not ${q}`);
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    // The extremes are kept exactly: no need to estimate them.
    if (rank === this.#count) return this.#max;
    if (rank === 1) return this.#min;
    let seen = 0;
    const negative = this.#negative.sorted();
    // The negative values ascend from the largest magnitude down.
    for (let i = negative.length - 1; i >= 0; i--) {
      const [key, count] = negative[i] as SketchBin;
      seen += count;
      if (seen >= rank) return this.#clamp(-binValue(key));
    }
    seen += this.#zeros;
    if (seen >= rank) return 0;
    for (const [key, count] of this.#positive.sorted()) {
      seen += count;
      if (seen >= rank) return this.#clamp(binValue(key));
    }
    // Only counts that do not add up (data that valueSketchDataSchema rejects) get here.
    return this.#max;
  }

  toJSON(): ValueSketchData {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      zeros: this.#zeros,
      min: empty ? null : this.#min,
      max: empty ? null : this.#max,
      negative: this.#negative.sorted().map(([key, count]): SketchBin => [key, count]),
      positive: this.#positive.sorted().map(([key, count]): SketchBin => [key, count]),
    };
  }

  #clamp(estimate: number): number {
    return Math.min(this.#max, Math.max(this.#min, estimate));
  }
}
