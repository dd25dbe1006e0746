/** 2^27 + 1: Veltkamp's constant, to split a double into two halves of 26 bits that multiply exactly. */
const SPLITTER = 134_217_729;

const split = (a: number): [number, number] => {
  const c = SPLITTER * a;
  const high = c - (c - a);
  return [high, a - high];
};

/** a * b exactly, as the rounded product and its error (Dekker): no overflow for the magnitudes here. */
const twoProduct = (a: number, b: number): [number, number] => {
  const product = a * b;
  const [aHigh, aLow] = split(a);
  const [bHigh, bLow] = split(b);
  return [product, aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow];
};

/**
 * The exact sum of doubles, as Python's `math.fsum`: Shewchuk's algorithm keeps the running sum as a few
 * non-overlapping doubles (its partials) whose sum is exact, and rounds only once, in {@link value}. So the
 * result is the correctly rounded sum of everything added, whatever the order and grouping: chunks summed
 * apart and merged give the same bytes as one pass over all the values.
 *
 * The values must be finite, and so must the partial sums: a RangeError otherwise, after which the sum is
 * not to be used. Values within 2^53 never overflow (that would take more than 2^970 of them).
 */
export class ExactSum {
  /** Non-overlapping, in increasing magnitude; their exact sum is the sum of everything added. */
  #partials: number[] = [];

  /** The exact sum's partials: what is stored, and what {@link merge} takes. */
  get partials(): number[] {
    return [...this.#partials];
  }

  add(value: number): void {
    const partials = this.#partials;
    let x = value;
    let kept = 0;
    for (const partial of partials) {
      let y = partial;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[kept++] = lo;
      x = hi;
    }
    if (!Number.isFinite(x)) throw new RangeError(`an exact sum has only finite values and totals, not ${x}`);
    partials.length = kept;
    if (x !== 0) partials.push(x);
  }

  /** Adds the exact sum whose partials are given (another sum's {@link partials}). */
  merge(partials: readonly number[]): void {
    for (const partial of partials) this.add(partial);
  }

  /** The sum, correctly rounded (to nearest, ties to even), from the partials. */
  value(): number {
    const partials = this.#partials;
    let n = partials.length;
    if (n === 0) return 0;
    n--;
    let hi = partials[n] as number;
    let lo = 0;
    // Add from the largest partial down until the sum is no longer exact: what is left is below hi's half-ulp.
    while (n > 0) {
      const x = hi;
      n--;
      const y = partials[n] as number;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // lo rounded hi half-way (to even); the partial below breaks that tie in lo's direction.
    const below = n > 0 ? (partials[n - 1] as number) : 0;
    if ((lo < 0 && below < 0) || (lo > 0 && below > 0)) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  /**
   * The sum divided by `count` (a positive integer): the quotient of the rounded sum, corrected by what the
   * exact sum leaves over. Within an ulp of the exact quotient, and equal to it when it is a double, so the
   * mean of equal values is that value where value() / count is not (0.1 three times: 0.10000000000000002).
   */
  mean(count: number): number {
    const quotient = this.value() / count;
    const [product, error] = twoProduct(quotient, count);
    const rest = new ExactSum();
    rest.merge(this.#partials);
    rest.add(-product);
    rest.add(-error);
    return quotient + rest.value() / count;
  }
}
