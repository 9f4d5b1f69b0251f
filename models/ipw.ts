/**
 * Inverse-propensity weights: turn rows logged under a non-uniform policy into a sample that
 * stands for the whole population, so means and uplift metrics over observational logs are not
 * skewed towards the users the logging policy favoured.
 */
import { ErrorCodes, PaydecideError } from '../core/errors';

export interface IpwOptions {
  /**
   * Upper bound on a weight 1/p. Why clip: a row logged with p = 0.001 would count as 1000 rows,
   * so a handful of rare rows dominate every weighted mean and its variance explodes (and a
   * mis-estimated small propensity does the most damage). Capping trades a small, bounded bias
   * (rows with p < 1/clip are under-weighted) for bounded variance; 20 equals a propensity
   * floor of 5%, the usual minimum exploration rate. Use Infinity for no clipping.
   * @defaultValue 20
   */
  clip?: number;
  /**
   * Rescale so the weights average 1. Why: weighted sums then stay on the row scale (a weighted
   * count is comparable to a row count, and Platt's one-row smoothing keeps its meaning); ratios
   * such as weighted means are unchanged by the rescaling.
   * @defaultValue true
   */
  normalise?: boolean;
}

/**
 * Weights min(1/p, clip) for propensities p in (0, 1] (the probability with which each row's
 * logged action — e.g. treatment or control — was chosen), optionally scaled to mean 1.
 */
export function ipwWeights(propensity: ArrayLike<number>, opts: IpwOptions = {}): Float64Array {
  const { clip = 20, normalise = true } = opts;
  if (!(clip >= 1)) {
    throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `ipw: clip must be ≥ 1 (a weight of at least one row), got ${clip}`);
  }
  const n = propensity.length;
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = propensity[i];
    if (!(p > 0 && p <= 1)) {
      throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `ipw: propensity ${i} is ${p}; must be in (0, 1]`);
    }
    w[i] = Math.min(1 / p, clip);
    sum += w[i];
  }
  if (normalise && n > 0) {
    const scale = n / sum;
    for (let i = 0; i < n; i++) w[i] *= scale;
  }
  return w;
}
