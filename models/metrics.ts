/**
 * Evaluation metrics over typed arrays: pure, unweighted, deterministic.
 * `p` are predicted probabilities, `y` 0/1 labels of the same length.
 */
import { ErrorCodes, PaydecideError } from '../core/errors';

export type Scores = Float32Array | Float64Array;

function check(p: Scores, y: Uint8Array): void {
  if (p.length !== y.length) {
    throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `metrics: ${p.length} scores but ${y.length} labels`);
  }
}

/** Share of positive labels (NaN for no rows). */
export function baseRate(y: Uint8Array): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] ? 1 : 0;
  return y.length ? pos / y.length : NaN;
}

/**
 * ROC AUC = P(score of a random positive > score of a random negative), ties counting ½
 * (the Mann–Whitney statistic with mid-ranks). NaN when either class is empty.
 * Sorts the positives' and negatives' scores separately (native typed-array sort) and merges.
 */
export function auc(p: Scores, y: Uint8Array): number {
  check(p, y);
  let np = 0;
  for (let i = 0; i < y.length; i++) np += y[i] ? 1 : 0;
  const nn = y.length - np;
  if (np === 0 || nn === 0) return NaN;
  const pos = new Float64Array(np);
  const neg = new Float64Array(nn);
  for (let i = 0, a = 0, b = 0; i < y.length; i++) {
    const s = p[i];
    if (Number.isNaN(s)) throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `metrics: score ${i} is NaN`);
    if (y[i]) pos[a++] = s;
    else neg[b++] = s;
  }
  pos.sort();
  neg.sort();
  // For each run of equal positive scores: negatives strictly below count 1, equal count ½.
  let wins = 0;
  let below = 0;
  let i = 0;
  while (i < np) {
    const s = pos[i];
    let j = i;
    while (j < np && pos[j] === s) j++;
    while (below < nn && neg[below] < s) below++;
    let eq = below;
    while (eq < nn && neg[eq] === s) eq++;
    wins += (j - i) * (below + 0.5 * (eq - below));
    i = j;
  }
  return wins / (np * nn);
}

/** Mean binary cross-entropy, probabilities clipped to [eps, 1 − eps]. */
export function logLoss(p: Scores, y: Uint8Array, eps = 1e-15): number {
  check(p, y);
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i], eps), 1 - eps);
    s -= y[i] ? Math.log(q) : Math.log1p(-q);
  }
  return s / y.length;
}

/** Mean squared error of the probability. */
export function brier(p: Scores, y: Uint8Array): number {
  check(p, y);
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const d = p[i] - y[i];
    s += d * d;
  }
  return s / y.length;
}

/**
 * Expected calibration error over `bins` equal-width probability bins:
 * Σ_b (n_b / n) · |mean predicted_b − observed rate_b|. A score of exactly 1 falls in the last bin.
 */
export function ece(p: Scores, y: Uint8Array, bins = 10): number {
  check(p, y);
  if (y.length === 0) return NaN;
  const cnt = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i], 0), 1);
    const b = Math.min(bins - 1, Math.floor(q * bins));
    cnt[b]++;
    sp[b] += q;
    sy[b] += y[i];
  }
  let e = 0;
  for (let b = 0; b < bins; b++) if (cnt[b] > 0) e += Math.abs(sp[b] - sy[b]) / y.length;
  return e;
}

export interface BinaryMetrics {
  rows: number;
  positives: number;
  baseRate: number;
  auc: number;
  logloss: number;
  brier: number;
  ece: number;
}

/** All of the above in one object (AUC is NaN when a class is missing). */
export function evaluateBinary(p: Scores, y: Uint8Array): BinaryMetrics {
  check(p, y);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  return {
    rows: y.length,
    positives,
    baseRate: baseRate(y),
    auc: auc(p, y),
    logloss: logLoss(p, y),
    brier: brier(p, y),
    ece: ece(p, y),
  };
}
