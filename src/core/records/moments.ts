/**
 * The count, mean and sum of squared deviations from the mean (m2) of some values: enough to merge two sets'
 * variances without a second pass. The population variance is m2 / count.
 */
export interface Moments {
  count: number;
  mean: number;
  m2: number;
}

/** The moments of no values. */
export const emptyMoments: Moments = Object.freeze({ count: 0, mean: 0, m2: 0 });

/** The moments with one more value, by Welford's update: no sum of squares to lose precision in. */
export const addValue = (moments: Moments, value: number): Moments => {
  const count = moments.count + 1;
  const delta = value - moments.mean;
  const mean = moments.mean + delta / count;
  return { count, mean, m2: moments.m2 + delta * (value - mean) };
};

/** The moments of the values of both, by Chan, Golub and LeVeque's pairwise formula. */
export const mergeMoments = (a: Moments, b: Moments): Moments => {
  if (b.count === 0) return a;
  if (a.count === 0) return b;
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  const share = b.count / count;
  return {
    count,
    mean: a.mean + delta * share,
    m2: a.m2 + b.m2 + delta * delta * a.count * share,
  };
};
