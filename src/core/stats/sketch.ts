/** The plain form of a sketch: what is stored, sent between clouds and merged. */
export interface SketchData {
  /** [bucket key, count] pairs, sorted by key. */
  bins: [number, number][];
  /** Values too small to bucket (under 1 microsecond). */
  zeros: number;
  count: number;
  /** Sum in whole microseconds, so that merging is exact. */
  sumMicros: number;
  min: number;
  max: number;
}

const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
const MIN_MS = 0.001;

/**
 * A DDSketch of durations in milliseconds: every quantile within 1% of the true value, in a few hundred
 * bytes. Buckets are counts, so merging two sketches gives exactly the sketch of all their values:
 * per-target and per-cloud sketches add up to the job's.
 */
export class DurationSketch {
  readonly #bins = new Map<number, number>();
  #zeros = 0;
  #count = 0;
  #sumMicros = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  static from(data: SketchData): DurationSketch {
    const sketch = new DurationSketch();
    sketch.merge(data);
    return sketch;
  }

  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    const value = Math.max(0, ms);
    if (value < MIN_MS) this.#zeros++;
    else {
      const key = Math.ceil(Math.log(value) / LOG_GAMMA);
      this.#bins.set(key, (this.#bins.get(key) ?? 0) + 1);
    }
    this.#count++;
    this.#sumMicros += Math.round(value * 1000);
    this.#min = Math.min(this.#min, value);
    this.#max = Math.max(this.#max, value);
  }

  merge(other: SketchData): void {
    for (const [key, count] of other.bins) this.#bins.set(key, (this.#bins.get(key) ?? 0) + count);
    this.#zeros += other.zeros;
    this.#count += other.count;
    this.#sumMicros += other.sumMicros;
    if (other.count > 0) {
      this.#min = Math.min(this.#min, other.min);
      this.#max = Math.max(this.#max, other.max);
    }
  }

  /** The value at quantile q (0 to 1), within 1%; 0 for an empty sketch. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = this.#zeros;
    if (rank <= seen) return 0;
    for (const [key, count] of this.#sortedBins()) {
      seen += count;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, (2 * GAMMA ** key) / (GAMMA + 1)));
    }
    return this.#max;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sumMicros / 1000 / this.#count;
  }

  toJSON(): SketchData {
    return {
      bins: this.#sortedBins(),
      zeros: this.#zeros,
      count: this.#count,
      sumMicros: this.#sumMicros,
      min: this.#count === 0 ? 0 : this.#min,
      max: this.#count === 0 ? 0 : this.#max,
    };
  }

  #sortedBins(): [number, number][] {
    return [...this.#bins.entries()].sort((a, b) => a[0] - b[0]);
  }
}
