/**
 * Probability calibration and its diagnostics: Platt scaling, isotonic regression (pool adjacent
 * violators), reliability bins and a weighted ECE. Pure functions over array-likes; weights are
 * optional everywhere and, when given, are expected on the row scale (mean ≈ 1, as
 * `ipwWeights(…, { normalise: true })` returns) because Platt's target smoothing adds "one row".
 */
import { ErrorCodes, PaydecideError } from '../core/errors';

/**
 * One bin of a reliability diagram. Declared here, not imported, because models/ may depend only
 * on core/; it has the shape of jobs/report's `ReliabilityBin`, so values pass straight through.
 */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  /** Weighted mean predicted probability in the bin. */
  mean_pred: number;
  /** Weighted frequency of label 1 in the bin. */
  frac_pos: number;
  /** Rows in the bin (unweighted). */
  count: number;
}

export interface PlattModel {
  /** Slope on the margin (p = sigmoid(a · margin + b)). */
  a: number;
  b: number;
}

export interface IsotonicModel {
  /** Breakpoints, ascending; interior points of flat runs are dropped. */
  x: Float64Array;
  /** Fitted (non-decreasing) values at the breakpoints. */
  y: Float64Array;
}

function fail(message: string): never {
  throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `calibration: ${message}`);
}

function checkLengths(n: number, y: ArrayLike<number>, w: ArrayLike<number> | undefined): void {
  if (y.length !== n) fail(`${n} scores but ${y.length} labels`);
  if (w && w.length !== n) fail(`${n} scores but ${w.length} weights`);
}

function weightAt(w: ArrayLike<number> | undefined, i: number): number {
  if (!w) return 1;
  const v = w[i];
  if (!(v >= 0) || !Number.isFinite(v)) fail(`weight ${i} is ${v}; weights must be finite and ≥ 0`);
  return v;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Platt scaling: weighted logistic regression of y on a single margin, p = sigmoid(a·m + b).
 *
 * Why the targets are smoothed: as in Platt (1999), labels become (N₊+1)/(N₊+2) and 1/(N₋+2)
 * instead of 1 and 0, so perfectly separated margins give a finite slope instead of diverging
 * (and the fit is less over-confident on small calibration sets). A ridge of 1e-6 · Σw on `a`
 * keeps the Hessian invertible when the margin is constant. Newton steps with step halving
 * make the loss decrease monotonically; on 100k rows the smoothing's bias is O(1/n).
 * Soft labels y ∈ [0, 1] are accepted (target = y·t₊ + (1−y)·t₋).
 */
export function fitPlatt(margin: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): PlattModel {
  const n = margin.length;
  checkLengths(n, y, w);
  let wPos = 0;
  let wNeg = 0;
  for (let i = 0; i < n; i++) {
    const wi = weightAt(w, i);
    if (!Number.isFinite(margin[i])) fail(`margin ${i} is ${margin[i]}`);
    if (!(y[i] >= 0 && y[i] <= 1)) fail(`label ${i} is ${y[i]}; labels must lie in [0, 1]`);
    wPos += wi * y[i];
    wNeg += wi * (1 - y[i]);
  }
  if (wPos + wNeg <= 0) fail('no rows with positive weight');
  const hiT = (wPos + 1) / (wPos + 2);
  const loT = 1 / (wNeg + 2);
  const lambda = 1e-6 * (wPos + wNeg);
  const target = (i: number): number => y[i] * hiT + (1 - y[i]) * loT;
  const loss = (a: number, b: number): number => {
    let s = 0.5 * lambda * a * a;
    for (let i = 0; i < n; i++) {
      const z = a * margin[i] + b;
      s += weightAt(w, i) * (softplus(z) - target(i) * z);
    }
    return s;
  };

  let a = 0;
  let b = Math.log((wPos + 1) / (wNeg + 1));
  let f = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let ga = lambda * a;
    let gb = 0;
    let haa = lambda;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const wi = weightAt(w, i);
      if (wi === 0) continue;
      const m = margin[i];
      const p = sigmoid(a * m + b);
      const r = wi * (p - target(i));
      const h = wi * Math.max(p * (1 - p), 1e-12);
      ga += r * m;
      gb += r;
      haa += h * m * m;
      hab += h * m;
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    let accepted = false;
    while (step > 1e-10) {
      const na = a - step * da;
      const nb = b - step * db;
      const nf = loss(na, nb);
      if (nf <= f + 1e-12 * Math.abs(f)) {
        a = na;
        b = nb;
        f = nf;
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted || Math.abs(step * da) + Math.abs(step * db) < 1e-10 * (1 + Math.abs(a) + Math.abs(b))) break;
  }
  return { a, b };
}

/** p = sigmoid(a · margin + b) for each margin. */
export function applyPlatt(c: PlattModel, margin: ArrayLike<number>): Float64Array {
  const out = new Float64Array(margin.length);
  for (let i = 0; i < margin.length; i++) out[i] = sigmoid(c.a * margin[i] + c.b);
  return out;
}

/**
 * Weighted isotonic regression of y on p (pool adjacent violators): the non-decreasing step
 * function minimising Σ w (y − f(p))². Equal scores are pooled first so one score maps to one
 * value. Offered beside Platt because it assumes only monotonicity — it fixes miscalibration
 * that is not a logistic function of the margin — at the cost of more variance on small sets.
 * Rows with weight 0 are ignored.
 */
export function fitIsotonic(p: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): IsotonicModel {
  const n = p.length;
  checkLengths(n, y, w);
  const order = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(p[i])) fail(`score ${i} is NaN`);
    if (weightAt(w, i) > 0) order[m++] = i;
  }
  if (m === 0) fail('no rows with positive weight');
  const idx = order.subarray(0, m).sort((i, j) => p[i] - p[j] || i - j);
  // Stack of blocks: weight, weighted label sum, and the score range they cover.
  const bw = new Float64Array(m);
  const by = new Float64Array(m);
  const bLo = new Float64Array(m);
  const bHi = new Float64Array(m);
  let top = -1;
  for (let k = 0; k < m; k++) {
    const i = idx[k];
    const wi = weightAt(w, i);
    if (top >= 0 && bHi[top] === p[i]) {
      bw[top] += wi;
      by[top] += wi * y[i];
    } else {
      top++;
      bw[top] = wi;
      by[top] = wi * y[i];
      bLo[top] = p[i];
      bHi[top] = p[i];
    }
    // Merge backwards while the previous block's mean exceeds this one's (a violation).
    while (top > 0 && by[top - 1] * bw[top] > by[top] * bw[top - 1]) {
      bw[top - 1] += bw[top];
      by[top - 1] += by[top];
      bHi[top - 1] = bHi[top];
      top--;
    }
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (let b = 0; b <= top; b++) {
    const v = by[b] / bw[b];
    xs.push(bLo[b]);
    ys.push(v);
    if (bHi[b] > bLo[b]) {
      xs.push(bHi[b]);
      ys.push(v);
    }
  }
  return { x: Float64Array.from(xs), y: Float64Array.from(ys) };
}

/**
 * Evaluates an isotonic model: linear interpolation between breakpoints (so unseen scores between
 * two blocks get an in-between value rather than a jump), clamped to the end values outside.
 */
export function applyIsotonic(model: IsotonicModel, p: ArrayLike<number>): Float64Array {
  const { x, y } = model;
  const k = x.length;
  if (k === 0 || y.length !== k) fail('isotonic model has no breakpoints');
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const q = p[i];
    if (Number.isNaN(q)) out[i] = NaN;
    else if (q <= x[0]) out[i] = y[0];
    else if (q >= x[k - 1]) out[i] = y[k - 1];
    else {
      let lo = 0;
      let hi = k - 1; // x is strictly increasing; invariant x[lo] ≤ q < x[hi]
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (x[mid] <= q) lo = mid;
        else hi = mid;
      }
      const t = (q - x[lo]) / (x[hi] - x[lo]);
      out[i] = y[lo] + t * (y[hi] - y[lo]);
    }
  }
  return out;
}

/**
 * Equal-width reliability bins over [0, 1], binned exactly as metrics.ts `ece` bins (scores
 * clamped to [0, 1], bin ⌊q · bins⌋, a score of 1 in the last bin) so the diagram and the ECE
 * agree. `mean_pred` and `frac_pos` are weighted; `count` is the number of rows. Bins with no
 * weight are omitted.
 */
export function reliabilityBins(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10, w?: ArrayLike<number>): ReliabilityBin[] {
  const { cnt, sw, sp, sy } = binSums(p, y, bins, w);
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (!(sw[b] > 0)) continue;
    out.push({ lo: b / bins, hi: (b + 1) / bins, mean_pred: sp[b] / sw[b], frac_pos: sy[b] / sw[b], count: cnt[b] });
  }
  return out;
}

/**
 * Expected calibration error Σ_b (W_b / W) · |mean predicted_b − observed rate_b| with weights.
 * Without weights it equals metrics.ts `ece` (same bins, same formula). NaN for no weight.
 */
export function weightedEce(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10, w?: ArrayLike<number>): number {
  const { sw, sp, sy } = binSums(p, y, bins, w);
  let total = 0;
  for (let b = 0; b < bins; b++) total += sw[b];
  if (!(total > 0)) return NaN;
  let e = 0;
  for (let b = 0; b < bins; b++) if (sw[b] > 0) e += Math.abs(sp[b] - sy[b]) / total;
  return e;
}

function binSums(p: ArrayLike<number>, y: ArrayLike<number>, bins: number, w: ArrayLike<number> | undefined) {
  checkLengths(p.length, y, w);
  if (!Number.isInteger(bins) || bins < 1) fail(`bins must be a positive integer, got ${bins}`);
  const cnt = new Float64Array(bins);
  const sw = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  for (let i = 0; i < p.length; i++) {
    if (Number.isNaN(p[i])) fail(`score ${i} is NaN`);
    const wi = weightAt(w, i);
    const q = Math.min(Math.max(p[i], 0), 1);
    const b = Math.min(bins - 1, Math.floor(q * bins));
    cnt[b]++;
    sw[b] += wi;
    sp[b] += wi * q;
    sy[b] += wi * y[i];
  }
  return { cnt, sw, sp, sy };
}
