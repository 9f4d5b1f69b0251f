/**
 * Uplift-model evaluation for a binary treatment: Qini curve, Qini coefficient, AUUC, observed
 * uplift in the top k, and Pearson correlation (for estimated vs true uplift on synthetic data).
 *
 * Inputs are aligned arrays: `s` the estimated uplift (higher = target first), `t` the treated
 * flag (0/1), `y` the outcome (0/1 or real), optional `w` row weights (e.g. IPS weights, so an
 * observational log stands in for a randomised one). With weights, every count below is a sum of
 * weights and the x axis is the weighted share of rows, which with IPS weights estimates the
 * share of the population targeted.
 *
 * Ties in `s` are never split by the curves: all rows with the same score enter together, as in
 * scikit-uplift, so the curves do not depend on row order. Between tie-group ends the curves are
 * linear (the trapezoid rule's reading of a tie group as targeted in random order).
 *
 * Definitions (Radcliffe 2007; scikit-uplift `qini_curve` / `uplift_curve`; causalml's "qini" and
 * "gain" curves), for the top-scored rows up to a cut, with N the weighted total:
 *   Qini gain(cut)   = (Y_t − Y_c · N_t / N_c) / N           (Y_c term 0 while N_c = 0)
 *   uplift gain(cut) = (Y_t / N_t − Y_c / N_c) · (N_t + N_c) / N   (a rate 0 while its N is 0)
 * Both are per-row (÷ N) so figures compare across data sizes. The areas are reported as
 * "area minus random area": random targeting gives in expectation the straight line from (0, 0)
 * to (1, gain(1)), whose area gain(1)/2 is subtracted — this is the numerator of scikit-uplift's
 * `qini_auc_score` / `uplift_auc_score`, on unit axes. We do not divide by the perfect model's area
 * (their denominator): that curve needs binary outcomes and per-row truth, and an absolute area
 * keeps IPS-weighted and real-valued outcomes comparable.
 */
import { ErrorCodes, PaydecideError } from '../core/errors';

/**
 * One point of a Qini curve: targeting the top `frac` by score. Declared here because models/ may
 * depend only on core/; it has the shape of jobs/report's `QiniPoint`.
 */
export interface QiniPoint {
  frac: number;
  /** Qini gain per row (weighted): incremental outcomes among the treated, ÷ N. */
  gain: number;
}

export interface UpliftAtK {
  /** Targeted fraction of the (weighted) rows. */
  k: number;
  /** treated − control; NaN when either arm has no rows in the top k. */
  uplift: number;
  /** Weighted outcome rate of treated rows in the top k. */
  treated: number;
  /** Weighted outcome rate of control rows in the top k. */
  control: number;
}

function fail(message: string): never {
  throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `uplift-metrics: ${message}`);
}

/** Validates inputs and returns row indices sorted by score descending (ties by index). */
function sortedRows(s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): Uint32Array {
  const n = s.length;
  if (t.length !== n || y.length !== n || (w && w.length !== n)) {
    fail(`lengths differ: ${n} scores, ${t.length} treatment flags, ${y.length} outcomes${w ? `, ${w.length} weights` : ''}`);
  }
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(s[i])) fail(`score ${i} is NaN`);
    if (t[i] !== 0 && t[i] !== 1) fail(`treatment flag ${i} is ${t[i]}; must be 0 or 1`);
    if (!Number.isFinite(y[i])) fail(`outcome ${i} is ${y[i]}`);
    if (w && !(w[i] >= 0 && Number.isFinite(w[i]))) fail(`weight ${i} is ${w[i]}; weights must be finite and ≥ 0`);
    idx[i] = i;
  }
  return idx.sort((i, j) => s[j] - s[i] || i - j);
}

/** Cumulative weighted sums at the end of each tie group, with a leading (0, …) vertex. */
interface Vertices {
  x: Float64Array;
  nt: Float64Array;
  nc: Float64Array;
  yt: Float64Array;
  yc: Float64Array;
  total: number;
}

function vertices(s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): Vertices {
  const idx = sortedRows(s, t, y, w);
  const n = idx.length;
  const cw = new Float64Array(n + 1);
  const nt = new Float64Array(n + 1);
  const nc = new Float64Array(n + 1);
  const yt = new Float64Array(n + 1);
  const yc = new Float64Array(n + 1);
  let v = 0;
  let aw = 0, ant = 0, anc = 0, ayt = 0, ayc = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    const wi = w ? w[i] : 1;
    aw += wi;
    if (t[i] === 1) {
      ant += wi;
      ayt += wi * y[i];
    } else {
      anc += wi;
      ayc += wi * y[i];
    }
    if (k === n - 1 || s[idx[k + 1]] !== s[i]) {
      v++;
      cw[v] = aw;
      nt[v] = ant;
      nc[v] = anc;
      yt[v] = ayt;
      yc[v] = ayc;
    }
  }
  if (!(aw > 0)) fail('no rows with positive weight');
  const x = cw.subarray(0, v + 1).map((c) => c / aw);
  return { x, nt: nt.subarray(0, v + 1), nc: nc.subarray(0, v + 1), yt: yt.subarray(0, v + 1), yc: yc.subarray(0, v + 1), total: aw };
}

function qiniGains(v: Vertices): Float64Array {
  const g = new Float64Array(v.x.length);
  for (let j = 0; j < g.length; j++) {
    const ctrl = v.nc[j] > 0 ? (v.yc[j] * v.nt[j]) / v.nc[j] : 0;
    g[j] = (v.yt[j] - ctrl) / v.total;
  }
  return g;
}

function upliftGains(v: Vertices): Float64Array {
  const g = new Float64Array(v.x.length);
  for (let j = 0; j < g.length; j++) {
    const rt = v.nt[j] > 0 ? v.yt[j] / v.nt[j] : 0;
    const rc = v.nc[j] > 0 ? v.yc[j] / v.nc[j] : 0;
    g[j] = (rt - rc) * v.x[j];
  }
  return g;
}

/** Trapezoid area under (x, g) minus the random line's area g(1)/2. */
function areaOverRandom(x: Float64Array, g: Float64Array): number {
  let a = 0;
  for (let j = 1; j < x.length; j++) a += ((x[j] - x[j - 1]) * (g[j] + g[j - 1])) / 2;
  return a - g[g.length - 1] / 2;
}

/**
 * The Qini curve sampled at frac = 0, 1/points, …, 1 (linear between tie-group ends), for the
 * report's chart. Areas use the exact curve, not these samples.
 */
export function qiniCurve(s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>, points = 100): QiniPoint[] {
  if (!Number.isInteger(points) || points < 1) fail(`points must be a positive integer, got ${points}`);
  const v = vertices(s, t, y, w);
  const g = qiniGains(v);
  const out: QiniPoint[] = [];
  let j = 0;
  for (let q = 0; q <= points; q++) {
    const frac = q / points;
    while (j < v.x.length - 2 && v.x[j + 1] < frac) j++;
    const x0 = v.x[j];
    const x1 = v.x[j + 1];
    const gain = x1 > x0 ? g[j] + ((Math.min(Math.max(frac, x0), x1) - x0) / (x1 - x0)) * (g[j + 1] - g[j]) : g[j];
    out.push({ frac, gain: q === points ? g[g.length - 1] : gain });
  }
  return out;
}

/**
 * Qini coefficient: area between the Qini curve and the random-targeting line from (0, 0) to
 * (1, gain(1)). Positive when high scores find the persuadables, ≈ 0 for random scores,
 * negative for reversed ones. Units: incremental outcomes per row.
 */
export function qiniCoefficient(s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): number {
  const v = vertices(s, t, y, w);
  return areaOverRandom(v.x, qiniGains(v));
}

/**
 * Area under the uplift curve (scikit-uplift `uplift_curve`, causalml "gain") minus the random
 * area. Unlike the Qini curve, which scales control outcomes to the treated count, this one
 * compares the arms' rates, so it is not distorted when the top of the ranking is mostly one arm.
 */
export function auuc(s: ArrayLike<number>, t: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): number {
  const v = vertices(s, t, y, w);
  return areaOverRandom(v.x, upliftGains(v));
}

/**
 * Observed uplift in the top k (scikit-uplift `uplift_at_k`, strategy "overall"): take the
 * highest-scored rows until their weight reaches k · N (without weights: ⌈k·n⌉ rows; ties in
 * order of row index), then treated rate − control rate among them.
 */
export function upliftAtTopK(
  s: ArrayLike<number>,
  t: ArrayLike<number>,
  y: ArrayLike<number>,
  w?: ArrayLike<number>,
  ks: readonly number[] = [0.1, 0.2, 0.3, 0.5],
): UpliftAtK[] {
  const idx = sortedRows(s, t, y, w);
  let total = 0;
  for (let i = 0; i < idx.length; i++) total += w ? w[i] : 1;
  return ks.map((k) => {
    if (!(k > 0 && k <= 1)) fail(`k must be in (0, 1], got ${k}`);
    const need = k * total * (1 - 1e-12); // so 0.3 · 10 rows is 3 rows, not 4
    let cw = 0, nt = 0, nc = 0, yt = 0, yc = 0;
    for (let r = 0; r < idx.length && cw < need; r++) {
      const i = idx[r];
      const wi = w ? w[i] : 1;
      cw += wi;
      if (t[i] === 1) {
        nt += wi;
        yt += wi * y[i];
      } else {
        nc += wi;
        yc += wi * y[i];
      }
    }
    const treated = nt > 0 ? yt / nt : NaN;
    const control = nc > 0 ? yc / nc : NaN;
    return { k, uplift: treated - control, treated, control };
  });
}

/** Pearson correlation; NaN with fewer than 2 rows or a constant input. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) fail(`pearson: ${n} vs ${b.length} values`);
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
