import type { CalculateOp } from './calculation.ts';
import { ExactSum } from './exact-sum.ts';
import { addValue, emptyMoments, type Moments, mergeMoments } from './moments.ts';
import { readNumber } from './numbers.ts';
import { type CalculationPartial, PARTIAL_FIELDS } from './partial.ts';
import { ValueSketch, type ValueSketchData } from './value-sketch.ts';

/** The running totals of one op's values, kept only as far as the op reads them. */
export class Accumulator {
  #count = 0;
  #skipped = 0;
  readonly #sum: ExactSum | undefined;
  #moments: Moments | undefined;
  readonly #keepsMin: boolean;
  readonly #keepsMax: boolean;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  readonly #sketch: ValueSketch | undefined;

  constructor(op: CalculateOp) {
    const fields: readonly string[] = PARTIAL_FIELDS[op];
    this.#sum = fields.includes('sum') ? new ExactSum() : undefined;
    this.#moments = fields.includes('moments') ? emptyMoments : undefined;
    this.#keepsMin = fields.includes('min');
    this.#keepsMax = fields.includes('max');
    this.#sketch = fields.includes('sketch') ? new ValueSketch() : undefined;
  }

  /** Counts a value readNumber accepts, and skips anything else. */
  addValue(value: unknown): void {
    const reading = readNumber(value);
    if (!reading.ok) {
      this.#skipped++;
      return;
    }
    const x = reading.value;
    this.#count++;
    this.#sum?.add(x);
    if (this.#moments !== undefined) this.#moments = addValue(this.#moments, x);
    this.#min = Math.min(this.#min, x);
    this.#max = Math.max(this.#max, x);
    this.#sketch?.add(x);
  }

  /** Adds the totals of a partial of the same op (checked by checkPartial). */
  merge(partial: CalculationPartial): void {
    this.#count += partial.count;
    this.#skipped += partial.skipped;
    // checkPartial let through only partials of this op: they have exactly the fields this keeps.
    this.#sum?.merge(partial.sum as number[]);
    if (this.#moments !== undefined) this.#moments = mergeMoments(this.#moments, partial.moments as Moments);
    this.#min = Math.min(this.#min, partial.min ?? Number.POSITIVE_INFINITY);
    this.#max = Math.max(this.#max, partial.max ?? Number.NEGATIVE_INFINITY);
    this.#sketch?.merge(partial.sketch as ValueSketchData);
  }

  toPartial(): CalculationPartial {
    const empty = this.#count === 0;
    const partial: CalculationPartial = { count: this.#count, skipped: this.#skipped };
    if (this.#sum !== undefined) partial.sum = this.#sum.partials;
    if (this.#moments !== undefined) partial.moments = { ...this.#moments };
    if (this.#keepsMin) partial.min = empty ? null : this.#min;
    if (this.#keepsMax) partial.max = empty ? null : this.#max;
    if (this.#sketch !== undefined) partial.sketch = this.#sketch.toJSON();
    return partial;
  }
}
