/**
 * L2-regularised logistic regression, trained in TypeScript on a row-major Float32Array.
 *
 * Features are standardised internally (mean/std over the training rows; a feature whose std is
 * zero is ignored and gets weight 0), the penalty applies to the standardised coefficients (not
 * the bias), and the result is folded back into raw-space float32 weights and a bias, so
 * inference — here or in ONNX Runtime — is `sigmoid(x · w + b)` with no scaler.
 *
 * Objective (mean over rows, with optional sample weights w_i):
 *   L(θ) = Σ w_i [softplus(η_i) − y_i η_i] / Σ w_i + (l2 / 2) ‖β‖²,  η_i = β₀ + Σ_j β_j z_ij.
 * Solved by damped Newton (IRLS): exact gradient over all rows, Hessian over all rows or a
 * deterministic stride subsample when there are more than `hessianRows`, Cholesky solve,
 * Armijo backtracking. Because the gradient is exact, the fixed point is the exact optimum
 * either way; the subsample only makes each step cheaper (the Hessian costs rows × f² / 2).
 * Everything runs in a fixed order, so results are bit-for-bit deterministic.
 *
 * Precision: folded float32 weights make terms cancel against the bias when a feature's
 * |mean| / std is large; float32 inference (ONNX Runtime) then carries an error of about
 * 2⁻²⁴ · (Σ|w_j x_j| + |b|) in the logit. Under 1e-6 in probability for features with
 * |mean| / std ≤ ~20; log-transform or centre such features upstream rather than here.
 */
import { ErrorCodes, PaydecideError } from '../core/errors';

export interface TrainOptions {
  /** L2 penalty λ on standardised coefficients (mean-loss scale). @defaultValue 1e-4 */
  l2?: number;
  /** Newton iterations at most. @defaultValue 50 */
  maxIter?: number;
  /** Converged when the largest absolute gradient component is at most this. @defaultValue 1e-7 */
  tol?: number;
  /** Non-negative sample weights, one per row. @defaultValue all 1 */
  sampleWeights?: Float64Array;
  /** Rows used for the Hessian (stride subsample above this). @defaultValue 50000 */
  hessianRows?: number;
}

export interface Standardisation {
  mean: Float64Array;
  std: Float64Array;
  /** Indices of features with non-zero spread, in order. */
  active: Int32Array;
}

export interface LogisticModel {
  featureCount: number;
  /** Raw-space weights, float32 as exported to ONNX. */
  weights: Float32Array;
  /** Raw-space bias, a float32-representable number. */
  bias: number;
  /** Training-set feature means and standard deviations (for drift reports and diagnostics). */
  featureMean: Float64Array;
  featureStd: Float64Array;
  info: {
    rows: number;
    /** Sum of the sample weights of positive rows (their count when unweighted). */
    positives: number;
    l2: number;
    iterations: number;
    converged: boolean;
    /** Largest absolute gradient component at the end (standardised space). */
    gradMax: number;
    objective: number;
    ignoredFeatures: number[];
    /** True when the labels were all 0 or all 1: weights 0, bias = smoothed log-odds. */
    degenerate: boolean;
  };
}

const BLOCK = 128;

function fail(message: string): never {
  throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, message);
}

function checkMatrix(X: Float32Array, n: number, f: number): void {
  if (!Number.isInteger(f) || f < 1) fail(`feature count must be a positive integer, got ${f}`);
  if (X.length !== n * f) fail(`X has ${X.length} values, expected ${n} rows × ${f} features = ${n * f}`);
}

/** Mean and population std of every feature; rejects non-finite values (the feature pipeline fills defaults). */
export function computeStandardisation(X: Float32Array, n: number, f: number): Standardisation {
  checkMatrix(X, n, f);
  const mean = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    for (let j = 0; j < f; j++) mean[j] += X[o + j];
  }
  for (let j = 0; j < f; j++) {
    if (!Number.isFinite(mean[j])) {
      for (let i = 0; i < n; i++) if (!Number.isFinite(X[i * f + j])) fail(`X row ${i} feature ${j} is not finite (${X[i * f + j]})`);
    }
    mean[j] /= Math.max(n, 1);
  }
  // Second pass around the mean: no cancellation for features with a large offset.
  const m2 = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    for (let j = 0; j < f; j++) {
      const d = X[o + j] - mean[j];
      m2[j] += d * d;
    }
  }
  const std = new Float64Array(f);
  const act: number[] = [];
  for (let j = 0; j < f; j++) {
    std[j] = Math.sqrt(m2[j] / Math.max(n, 1));
    // A float32 column that is constant up to rounding noise carries no signal.
    if (std[j] > 1e-7 * Math.max(1, Math.abs(mean[j]))) act.push(j);
    else std[j] = 0;
  }
  return { mean, std, active: Int32Array.from(act) };
}

function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}
function sigmoid(t: number): number {
  if (t >= 0) return 1 / (1 + Math.exp(-t));
  const e = Math.exp(t);
  return e / (1 + e);
}

/** In-place Cholesky of a d×d symmetric positive-definite matrix (lower triangle); false if not PD. */
function cholesky(A: Float64Array, d: number): boolean {
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j];
    for (let k = 0; k < j; k++) s -= A[j * d + k] * A[j * d + k];
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    A[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = A[i * d + j];
      for (let k = 0; k < j; k++) t -= A[i * d + k] * A[j * d + k];
      A[i * d + j] = t / ljj;
    }
  }
  return true;
}
function choleskySolve(L: Float64Array, d: number, b: Float64Array): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < d; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= L[i * d + k] * x[k];
    x[i] = s / L[i * d + i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < d; k++) s -= L[k * d + i] * x[k];
    x[i] = s / L[i * d + i];
  }
  return x;
}

/** Solves (H + jitter) δ = rhs, raising the jitter until H is numerically positive definite. */
function solveSpd(H: Float64Array, d: number, rhs: Float64Array): Float64Array {
  let trace = 0;
  for (let j = 0; j < d; j++) trace += H[j * d + j];
  let jitter = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const A = Float64Array.from(H);
    if (jitter > 0) for (let j = 0; j < d; j++) A[j * d + j] += jitter;
    if (cholesky(A, d)) return choleskySolve(A, d, rhs);
    jitter = jitter === 0 ? 1e-10 * Math.max(trace / d, 1e-12) : jitter * 10;
  }
  throw new PaydecideError(ErrorCodes.RUN_FAILED, 'logistic regression: Hessian is not positive definite even with jitter');
}

function validateLabels(y: Uint8Array): void {
  for (let i = 0; i < y.length; i++) if (y[i] > 1) fail(`label ${i} is ${y[i]}, expected 0 or 1`);
}
function validateWeights(w: Float64Array | undefined, n: number): void {
  if (!w) return;
  if (w.length !== n) fail(`sampleWeights has ${w.length} values, expected ${n}`);
  for (let i = 0; i < n; i++) if (!(w[i] >= 0) || !Number.isFinite(w[i])) fail(`sample weight ${i} is ${w[i]}, expected a finite number ≥ 0`);
}

/** What the row passes read; kept in one object so the hot loops live in small top-level functions V8 optimises well. */
interface PassData {
  X: Float32Array;
  f: number;
  n: number;
  y: Uint8Array;
  sw: Float64Array | undefined;
  active: Int32Array;
  mu: Float64Array;
  invStd: Float64Array;
}

/**
 * Adds Σ_r Zb[j,r]·Zb[k,r] over one block of `nb` rows to H (dp × dp, dp a multiple of 4).
 * Register-blocked 2 rows × 4 columns (about 2× a plain dot-product loop in V8). Every entry with
 * j ≤ k is accumulated; a few entries below the diagonal are too, and are never read.
 */
function addBlock(H: Float64Array, Zb: Float64Array, dp: number, nb: number): void {
  for (let j = 0; j < dp; j += 2) {
    const cj = j * BLOCK;
    const cj1 = cj + BLOCK;
    for (let k = j & ~3; k < dp; k += 4) {
      const c0 = k * BLOCK;
      const c1 = c0 + BLOCK;
      const c2 = c1 + BLOCK;
      const c3 = c2 + BLOCK;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0; // prettier-ignore
      for (let r = 0; r < nb; r++) {
        const x0 = Zb[cj + r];
        const x1 = Zb[cj1 + r];
        const y0 = Zb[c0 + r];
        const y1 = Zb[c1 + r];
        const y2 = Zb[c2 + r];
        const y3 = Zb[c3 + r];
        a0 += x0 * y0;
        a1 += x0 * y1;
        a2 += x0 * y2;
        a3 += x0 * y3;
        b0 += x1 * y0;
        b1 += x1 * y1;
        b2 += x1 * y2;
        b3 += x1 * y3;
      }
      const o = j * dp + k;
      const o1 = o + dp;
      H[o] += a0;
      H[o + 1] += a1;
      H[o + 2] += a2;
      H[o + 3] += a3;
      H[o1] += b0;
      H[o1 + 1] += b1;
      H[o1 + 2] += b2;
      H[o1 + 3] += b3;
    }
  }
}

/**
 * Raw-space form of standardised coefficients: η = c + Σ_j w_j x_j with w_j = θ_j / σ_j and
 * c = θ₀ − Σ w_j μ_j (w_j = 0 for ignored features). Row passes then run as plain dot products,
 * about 3× faster in V8 than standardising every value on the fly.
 */
function toRaw(theta: Float64Array, D: PassData, w: Float64Array): number {
  const { active, mu, invStd } = D;
  w.fill(0);
  let c = theta[0];
  for (let a = 0; a < active.length; a++) {
    const wj = theta[a + 1] * invStd[a];
    w[active[a]] = wj;
    c -= wj * mu[a];
  }
  return c;
}

/**
 * One pass over all rows: η (stored), the weighted loss sum, the raw gradient sums
 * G_j = Σ r_i x_ij and R = Σ r_i (r_i = w_i (p_i − y_i)), and the standardised Hessian sums over
 * the stride rows. The caller turns G into the standardised gradient σ_j⁻¹ (G_j − μ_j R).
 */
function gradientPass(
  D: PassData, w: Float64Array, c: number, eta: Float64Array, z: Float64Array, G: Float64Array, H: Float64Array, Zb: Float64Array, stride: number,
): { lossAcc: number; hW: number; R: number } {
  const { X, f, n, y, sw, active, mu, invStd } = D;
  const m = active.length;
  const dp = Zb.length / BLOCK;
  G.fill(0);
  H.fill(0);
  let lossAcc = 0;
  let hW = 0;
  let R = 0;
  let nb = 0;
  for (let i = 0; i < n; i++) {
    const o = i * f;
    let e = c;
    for (let j = 0; j < f; j++) e += w[j] * X[o + j];
    eta[i] = e;
    const wi = sw === undefined ? 1 : sw[i];
    const yi = y[i];
    const p = sigmoid(e);
    lossAcc += wi * (softplus(e) - (yi ? e : 0));
    const r = wi * (p - yi);
    R += r;
    for (let j = 0; j < f; j++) G[j] += r * X[o + j];
    if (i % stride === 0 && wi > 0) {
      hW += wi;
      const rs = Math.sqrt(wi * p * (1 - p));
      Zb[nb] = rs;
      for (let a = 0; a < m; a++) {
        z[a] = (X[o + active[a]] - mu[a]) * invStd[a];
        Zb[(a + 1) * BLOCK + nb] = rs * z[a];
      }
      if (++nb === BLOCK) {
        addBlock(H, Zb, dp, nb);
        nb = 0;
      }
    }
  }
  if (nb > 0) addBlock(H, Zb, dp, nb);
  return { lossAcc, hW, R };
}

/** Δη_i = c + Σ_j w_j x_ij for every row (the step in raw-space form). */
function directionPass(D: PassData, w: Float64Array, c: number, deta: Float64Array): void {
  const { X, f, n } = D;
  for (let i = 0; i < n; i++) {
    const o = i * f;
    let e = c;
    for (let j = 0; j < f; j++) e += w[j] * X[o + j];
    deta[i] = e;
  }
}

/** Weighted loss sum at η + t·Δη. */
function lossAlong(y: Uint8Array, sw: Float64Array | undefined, eta: Float64Array, deta: Float64Array, t: number): number {
  let acc = 0;
  for (let i = 0; i < eta.length; i++) {
    const e = eta[i] + t * deta[i];
    acc += (sw === undefined ? 1 : sw[i]) * (softplus(e) - (y[i] ? e : 0));
  }
  return acc;
}

/**
 * Trains one head. `n` is `y.length`; X is n × f row-major. `stats` lets several heads over the
 * same X share one standardisation pass (see trainLogisticHeads).
 */
export function trainLogisticRegression(X: Float32Array, y: Uint8Array, f: number, opts: TrainOptions = {}, stats?: Standardisation): LogisticModel {
  const n = y.length;
  checkMatrix(X, n, f);
  validateLabels(y);
  const sw = opts.sampleWeights;
  validateWeights(sw, n);
  const l2 = opts.l2 ?? 1e-4;
  const maxIter = opts.maxIter ?? 50;
  const tol = opts.tol ?? 1e-7;
  const hessianRows = Math.max(1, opts.hessianRows ?? 50_000);
  if (!(l2 >= 0) || !Number.isFinite(l2)) fail(`l2 must be a finite number ≥ 0, got ${l2}`);
  if (n === 0) fail('no training rows');
  const st = stats ?? computeStandardisation(X, n, f);
  const { mean, std, active } = st;
  const m = active.length;
  const d = m + 1; // θ = [β₀, β_active...]
  const invStd = new Float64Array(m);
  const mu = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    invStd[a] = 1 / std[active[a]];
    mu[a] = mean[active[a]];
  }

  let W = 0;
  let P = 0;
  for (let i = 0; i < n; i++) {
    const wi = sw ? sw[i] : 1;
    W += wi;
    if (y[i]) P += wi;
  }
  if (!(W > 0)) fail('sample weights sum to 0');
  const ignoredFeatures: number[] = [];
  for (let j = 0, a = 0; j < f; j++) {
    if (a < m && active[a] === j) a++;
    else ignoredFeatures.push(j);
  }
  const theta = new Float64Array(d);
  const rate = (P + 0.5) / (W + 1);
  theta[0] = Math.log(rate / (1 - rate));
  const base = { rows: n, positives: P, l2, ignoredFeatures };
  if (P === 0 || P === W) {
    return finish(theta, { ...base, iterations: 0, converged: true, gradMax: 0, objective: NaN, degenerate: true });
  }

  const eta = new Float64Array(n);
  const deta = new Float64Array(n);
  const z = new Float64Array(m);
  const g = new Float64Array(d);
  const G = new Float64Array(f);
  const wRaw = new Float64Array(f);
  const dp = (d + 3) & ~3; // padded to the 4-column register block; pad columns stay 0
  const Hacc = new Float64Array(dp * dp);
  const H = new Float64Array(d * d);
  const Zb = new Float64Array(dp * BLOCK); // column-major block of √s · z̃ for the Hessian
  const stride = Math.max(1, Math.ceil(n / hessianRows));
  let iterations = 0;
  let converged = false;
  let gradMax = Infinity;
  let objective = Infinity;

  const penalty = (t: Float64Array, step: Float64Array | null, s: number): number => {
    let q = 0;
    for (let k = 1; k < d; k++) {
      const v = t[k] + (step ? s * step[k] : 0);
      q += v * v;
    }
    return 0.5 * l2 * q;
  };
  const lossAt = (t: number): number => lossAlong(y, sw, eta, deta, t) / W;

  const data: PassData = { X, f, n, y, sw, active, mu, invStd };
  for (;;) {
    // Pass A: η, loss and gradient over all rows; Hessian over the stride rows.
    const c = toRaw(theta, data, wRaw);
    const { lossAcc, hW, R } = gradientPass(data, wRaw, c, eta, z, G, Hacc, Zb, stride);
    objective = lossAcc / W + penalty(theta, null, 0);
    g[0] = R / W;
    for (let a = 0; a < m; a++) g[a + 1] = (invStd[a] * (G[active[a]] - mu[a] * R)) / W + l2 * theta[a + 1];
    gradMax = 0;
    for (let k = 0; k < d; k++) gradMax = Math.max(gradMax, Math.abs(g[k]));
    if (gradMax <= tol) {
      converged = true;
      break;
    }
    if (iterations >= maxIter) break;
    iterations++;

    const hs = hW > 0 ? 1 / hW : 0;
    for (let j = 0; j < d; j++) {
      for (let k = j; k < d; k++) {
        const v = Hacc[j * dp + k] * hs + (j === k && j > 0 ? l2 : 0);
        H[j * d + k] = v;
        H[k * d + j] = v;
      }
    }
    H[0] += 1e-12; // the bias is unpenalised; keep the system solvable on degenerate subsamples
    const neg = new Float64Array(d);
    for (let k = 0; k < d; k++) neg[k] = -g[k];
    const step = solveSpd(H, d, neg);

    // Pass B: Δη per row, so that line-search trials cost O(n), not O(n·f).
    directionPass(data, wRaw, toRaw(step, data, wRaw), deta);
    let slope = 0;
    for (let k = 0; k < d; k++) slope += g[k] * step[k];
    let t = 1;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      const trial = lossAt(t) + penalty(theta, step, t);
      if (trial <= objective + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) break; // at the floating-point floor: no step decreases the objective
    for (let k = 0; k < d; k++) theta[k] += t * step[k];
  }

  return finish(theta, { ...base, iterations, converged, gradMax, objective, degenerate: false });

  function finish(th: Float64Array, info: LogisticModel['info']): LogisticModel {
    // Fold the standardisation back: w_j = β_j / σ_j, b = β₀ − Σ β_j μ_j / σ_j.
    const weights = new Float32Array(f);
    let b = th[0];
    for (let a = 0; a < m; a++) {
      const wj = th[a + 1] * invStd[a];
      weights[active[a]] = wj;
      b -= wj * mu[a];
    }
    return { featureCount: f, weights, bias: Math.fround(b), featureMean: mean, featureStd: std, info };
  }
}

/**
 * Trains one independent head per label vector over the same X (one shared standardisation
 * pass). `labels[h]` has one 0/1 value per row.
 */
export function trainLogisticHeads(X: Float32Array, labels: readonly Uint8Array[], f: number, opts: TrainOptions = {}): LogisticModel[] {
  if (labels.length === 0) fail('no label vectors');
  const n = labels[0].length;
  for (const [h, y] of labels.entries()) if (y.length !== n) fail(`labels[${h}] has ${y.length} rows, expected ${n}`);
  const stats = computeStandardisation(X, n, f);
  return labels.map((y) => trainLogisticRegression(X, y, f, opts, stats));
}

/**
 * Probabilities for n rows: float32 weights and bias, float64 accumulation, float32 result —
 * the same numbers ONNX Runtime gives for the exported graph, within float32 rounding.
 */
export function predict(model: LogisticModel, X: Float32Array, n: number): Float32Array {
  const f = model.featureCount;
  checkMatrix(X, n, f);
  const w = model.weights;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    let e = model.bias;
    for (let j = 0; j < f; j++) e += w[j] * X[o + j];
    out[i] = sigmoid(e);
  }
  return out;
}
