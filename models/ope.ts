/**
 * Off-policy evaluation: the value (mean reward per decision) a deterministic target policy would
 * have earned, estimated from bandit logs of another (stochastic) logging policy.
 *
 * - IPS reweights the logged rows where the target agrees with the logged action by 1/p.
 *   Unbiased when every target action had p > 0, but its variance grows with 1/p.
 * - SNIPS divides by the sum of those weights instead of n: a little bias, much less variance,
 *   and invariant to adding a constant to every reward.
 * - DR starts from a reward model's prediction for the target action and adds the IPS-weighted
 *   residual: unbiased if either the propensities or the model are right, and low-variance when
 *   the model is good (the residuals are small).
 *
 * All three clip the importance weight 1/p at `clip` (default: no clipping), trading a bias
 * towards the rows the logging policy favoured for bounded variance.
 */
import { ErrorCodes, PaydecideError } from '../core/errors';
import { mulberry32 } from '../core/seeded-random';

/**
 * A point estimate with a confidence interval. Declared here because models/ may depend only on
 * core/; it has the shape of jobs/report's `Interval`.
 */
export interface Interval {
  estimate: number;
  ci_low: number;
  ci_high: number;
}

export interface LoggedBandit {
  n: number;
  /** Logged action index per row. */
  action: Int32Array;
  /** Logging probability of the logged action, in (0, 1]. */
  propensity: Float64Array;
  reward: Float64Array;
  /** Action the target policy picks for the row's context. */
  target: Int32Array;
  /** Row-major n × A reward-model estimate of E[reward | x, a]; needed by DR. */
  qHat?: Float64Array;
  /** Number of actions A, needed with qHat. */
  actions?: number;
}

/** Any estimator of the target policy's value over a log; bootstrapCi resamples its input. */
export type OpeEstimator = (d: LoggedBandit, clip?: number) => number;

export interface BootstrapOptions {
  /** Bootstrap replicates. @defaultValue 500 */
  reps?: number;
  /** Seed of the resampling PRNG (mulberry32), so reports are reproducible. @defaultValue 1 */
  seed?: number;
  /** Coverage of the percentile interval. @defaultValue 0.95 */
  level?: number;
  /** Importance-weight clip passed to the estimator. @defaultValue Infinity */
  clip?: number;
}

function fail(message: string): never {
  throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `ope: ${message}`);
}

function check(d: LoggedBandit, clip: number): void {
  const { n } = d;
  if (!Number.isInteger(n) || n < 0) fail(`n must be a non-negative integer, got ${n}`);
  for (const [name, a] of [['action', d.action], ['propensity', d.propensity], ['reward', d.reward], ['target', d.target]] as const) {
    if (a.length < n) fail(`${name} has ${a.length} rows, expected ${n}`);
  }
  if (!(clip > 0)) fail(`clip must be > 0, got ${clip}`);
}

/** Importance weight of row i: min(1/p, clip) where target = logged action, else 0. */
function weight(d: LoggedBandit, i: number, clip: number): number {
  if (d.action[i] !== d.target[i]) return 0;
  const p = d.propensity[i];
  if (!(p > 0 && p <= 1)) fail(`propensity ${i} is ${p}; must be in (0, 1]`);
  return Math.min(1 / p, clip);
}

/** Inverse propensity scoring: (1/n) Σ 1[a = π(x)] · min(1/p, clip) · r. NaN for no rows. */
export function ipsEstimate(d: LoggedBandit, clip = Infinity): number {
  check(d, clip);
  let s = 0;
  for (let i = 0; i < d.n; i++) s += ipsTerm(d, i, clip);
  return d.n > 0 ? s / d.n : NaN;
}

/** Self-normalised IPS: Σ w·r / Σ w. NaN when the target never agrees with the log. */
export function snipsEstimate(d: LoggedBandit, clip = Infinity): number {
  check(d, clip);
  let s = 0;
  let sw = 0;
  for (let i = 0; i < d.n; i++) {
    s += ipsTerm(d, i, clip);
    sw += weight(d, i, clip);
  }
  return sw > 0 ? s / sw : NaN;
}

/**
 * Doubly robust: (1/n) Σ [ q̂(x, π(x)) + 1[a = π(x)] · min(1/p, clip) · (r − q̂(x, a)) ].
 * Requires `qHat` (n × actions) and `actions`.
 */
export function drEstimate(d: LoggedBandit, clip = Infinity): number {
  check(d, clip);
  const A = checkModel(d);
  let s = 0;
  for (let i = 0; i < d.n; i++) s += drTerm(d, i, clip, A);
  return d.n > 0 ? s / d.n : NaN;
}

function ipsTerm(d: LoggedBandit, i: number, clip: number): number {
  const w = weight(d, i, clip);
  return w > 0 ? w * d.reward[i] : 0;
}

function checkModel(d: LoggedBandit): number {
  const { qHat, actions } = d;
  if (!qHat || actions === undefined) fail('drEstimate needs qHat and actions');
  if (!Number.isInteger(actions) || actions < 1) fail(`actions must be a positive integer, got ${actions}`);
  if (qHat.length < d.n * actions) fail(`qHat has ${qHat.length} values, expected ${d.n} × ${actions}`);
  return actions;
}

function drTerm(d: LoggedBandit, i: number, clip: number, A: number): number {
  const ta = d.target[i];
  if (!(ta >= 0 && ta < A)) fail(`target ${i} is ${ta}; must be in [0, ${A})`);
  const q = (d.qHat as Float64Array)[i * A + ta];
  const w = weight(d, i, clip);
  return w > 0 ? q + w * (d.reward[i] - q) : q; // a = π(x) when w > 0, so q̂(x, a) = q̂(x, π(x))
}

/**
 * The built-in estimators as ratios of row sums, Σ num / Σ den (den ≡ 1 when null), so the
 * bootstrap can resample precomputed per-row terms instead of rebuilding the log.
 */
type RowTerms = (d: LoggedBandit, clip: number) => { num: Float64Array; den: Float64Array | null };

const ROW_TERMS = new Map<OpeEstimator, RowTerms>([
  [ipsEstimate, (d, clip) => ({ num: perRow(d, (i) => ipsTerm(d, i, clip)), den: null })],
  [snipsEstimate, (d, clip) => ({ num: perRow(d, (i) => ipsTerm(d, i, clip)), den: perRow(d, (i) => weight(d, i, clip)) })],
  [
    drEstimate,
    (d, clip) => {
      const A = checkModel(d);
      return { num: perRow(d, (i) => drTerm(d, i, clip, A)), den: null };
    },
  ],
]);

function perRow(d: LoggedBandit, term: (i: number) => number): Float64Array {
  const out = new Float64Array(d.n);
  for (let i = 0; i < d.n; i++) out[i] = term(i);
  return out;
}


/** Linear-interpolation quantile (numpy's default) of an ascending array. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile bootstrap over rows: `reps` resamples of n rows with replacement, the estimator on
 * each, and the (1 − level)/2 and (1 + level)/2 quantiles of the replicates. `estimate` is the
 * estimator on the full data, not the bootstrap mean.
 *
 * Fast for the built-in estimators: their per-row terms are computed once and a replicate is
 * n index draws and two running sums — no allocation per replicate, and the same sums in the
 * same order as running the estimator on the resampled log. Any other {@link OpeEstimator}
 * works too: each replicate is written into one set of resample buffers allocated up front and
 * the estimator runs on it. Replicates where the estimator is NaN (e.g. SNIPS on a resample
 * without a matching row) are left out of the quantiles.
 */
export function bootstrapCi(d: LoggedBandit, estimator: OpeEstimator, opts: BootstrapOptions = {}): Interval {
  const { reps = 500, seed = 1, level = 0.95, clip = Infinity } = opts;
  if (!Number.isInteger(reps) || reps < 1) fail(`reps must be a positive integer, got ${reps}`);
  if (!(level > 0 && level < 1)) fail(`level must be in (0, 1), got ${level}`);
  const estimate = estimator(d, clip);
  const n = d.n;
  if (n === 0) return { estimate, ci_low: NaN, ci_high: NaN };
  const rand = mulberry32(seed);
  const values = new Float64Array(reps);
  let kept = 0;
  const terms = ROW_TERMS.get(estimator);
  if (terms) {
    // Built-in estimator: per-row terms once, then each replicate is n index draws and sums.
    const { num, den } = terms(d, clip);
    for (let r = 0; r < reps; r++) {
      let sn = 0;
      let sd = 0;
      for (let i = 0; i < n; i++) {
        const j = Math.floor(rand() * n);
        sn += num[j];
        if (den) sd += den[j];
      }
      const v = den ? (sd > 0 ? sn / sd : NaN) : sn / n;
      if (!Number.isNaN(v)) values[kept++] = v;
    }
  } else {
    // Any other estimator: write each replicate into one set of buffers allocated up front.
    const A = d.qHat && d.actions !== undefined ? d.actions : 0;
    const buf: LoggedBandit = {
      n,
      action: new Int32Array(n),
      propensity: new Float64Array(n),
      reward: new Float64Array(n),
      target: new Int32Array(n),
      ...(A > 0 ? { qHat: new Float64Array(n * A), actions: A } : {}),
    };
    const src = d.qHat;
    const dst = buf.qHat;
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) {
        const j = Math.floor(rand() * n);
        buf.action[i] = d.action[j];
        buf.propensity[i] = d.propensity[j];
        buf.reward[i] = d.reward[j];
        buf.target[i] = d.target[j];
        if (src && dst) for (let a = 0; a < A; a++) dst[i * A + a] = src[j * A + a];
      }
      const v = estimator(buf, clip);
      if (!Number.isNaN(v)) values[kept++] = v;
    }
  }
  const sorted = values.subarray(0, kept).sort();
  const alpha = (1 - level) / 2;
  return { estimate, ci_low: quantile(sorted, alpha), ci_high: quantile(sorted, 1 - alpha) };
}
