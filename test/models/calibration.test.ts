import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors';
import { applyIsotonic, applyPlatt, fitIsotonic, fitPlatt, reliabilityBins, sigmoid, weightedEce } from '../../models/calibration';
import { ece } from '../../models/metrics';
import { normal, rng } from './synthetic';

const f = (xs: number[]) => Float64Array.from(xs);
const u = (xs: number[]) => Uint8Array.from(xs);
const logit = (p: number) => Math.log(p / (1 - p));

/** Margins m ~ N(0, 2²), labels ~ Bernoulli(sigmoid(a·m + b)). */
function logisticRows(n: number, a: number, b: number, seed: number) {
  const r = rng(seed);
  const m = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = 2 * normal(r);
    y[i] = r() < sigmoid(a * m[i] + b) ? 1 : 0;
  }
  return { m, y };
}

/** Raw score u ~ U(0, 1) whose true probability is a step: 5% below 0.5, 60% above. */
function stepRows(n: number, seed: number) {
  const r = rng(seed);
  const p = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = r();
    y[i] = r() < (p[i] < 0.5 ? 0.05 : 0.6) ? 1 : 0;
  }
  return { p, y };
}

describe('reliability bins and weighted ECE', () => {
  it('match hand-computed weighted bins', () => {
    // bin [0, 0.1): rows 0, 1 with w = 3, 1 → W = 4, Σwq = 0.2, Σwy = 1 → mean_pred 0.05, frac_pos 0.25
    // bin [0.9, 1]: rows 2, 3 with w = 1, 1 → W = 2, Σwq = 1.9, Σwy = 2 → mean_pred 0.95, frac_pos 1
    // ECE = (|0.2 − 1| + |1.9 − 2|) / 6 = 0.9 / 6 = 0.15
    const p = f([0.05, 0.05, 0.95, 0.95]);
    const y = u([0, 1, 1, 1]);
    const w = f([3, 1, 1, 1]);
    const bins = reliabilityBins(p, y, 10, w);
    expect(bins).toHaveLength(2);
    expect(bins[0]).toMatchObject({ lo: 0, hi: 0.1, count: 2 });
    expect(bins[0].mean_pred).toBeCloseTo(0.05, 12);
    expect(bins[0].frac_pos).toBeCloseTo(0.25, 12);
    expect(bins[1]).toMatchObject({ lo: 0.9, hi: 1, count: 2, frac_pos: 1 });
    expect(bins[1].mean_pred).toBeCloseTo(0.95, 12);
    expect(weightedEce(p, y, 10, w)).toBeCloseTo(0.15, 12);
    // Unweighted: (|0.1 − 1| + |1.9 − 2|) / 4 = 0.25, as metrics.ts `ece`.
    expect(weightedEce(p, y)).toBeCloseTo(0.25, 12);
  });
  it('puts a score of 1 in the last bin and clamps out-of-range scores, like ece', () => {
    expect(reliabilityBins(f([1, 1]), u([1, 1]))).toEqual([{ lo: 0.9, hi: 1, mean_pred: 1, frac_pos: 1, count: 2 }]);
    expect(reliabilityBins(f([-0.2]), u([0]), 4)).toEqual([{ lo: 0, hi: 0.25, mean_pred: 0, frac_pos: 0, count: 1 }]);
  });
  it('equals metrics.ts ece without weights, for several bin counts', () => {
    const r = rng(3);
    const n = 5000;
    const p = new Float32Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = i % 97 === 0 ? 1 : r();
      y[i] = r() < p[i] * p[i] ? 1 : 0;
    }
    for (const b of [1, 5, 10, 15]) expect(weightedEce(p, y, b)).toBeCloseTo(ece(p, y, b), 12);
  });
  it('is NaN with no weight and refuses mismatched lengths', () => {
    expect(weightedEce(f([]), u([]))).toBeNaN();
    expect(() => weightedEce(f([0.1]), u([0, 1]))).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
    expect(() => reliabilityBins(f([0.1]), u([0]), 10, f([-1]))).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
  });
});

describe('Platt scaling', () => {
  const train = logisticRows(100_000, 1.7, -0.4, 11);
  const test = logisticRows(100_000, 1.7, -0.4, 12);

  it('recovers a known slope and intercept', () => {
    const c = fitPlatt(train.m, train.y);
    expect(c.a).toBeCloseTo(1.7, 1);
    expect(Math.abs(c.a - 1.7)).toBeLessThan(0.05);
    expect(Math.abs(c.b + 0.4)).toBeLessThan(0.05);
  });
  it('calibrates a mis-scaled score to ECE ≤ 0.01 on 100k held-out rows', () => {
    // The raw score sigmoid(m) is under-confident (true slope 1.7).
    const raw = test.m.map(sigmoid);
    expect(weightedEce(raw, test.y)).toBeGreaterThan(0.05);
    const c = fitPlatt(train.m, train.y);
    expect(weightedEce(applyPlatt(c, test.m), test.y)).toBeLessThanOrEqual(0.01);
  });
  it('treats weights as row counts: weight 2 equals a duplicated row', () => {
    const m = f([-2, -1, -0.5, 0, 0.5, 1, 2]);
    const y = u([0, 1, 0, 0, 1, 0, 1]);
    const w = f([1, 2, 1, 1, 1, 1, 1]);
    const dup = fitPlatt(f([-2, -1, -1, -0.5, 0, 0.5, 1, 2]), u([0, 1, 1, 0, 0, 1, 0, 1]));
    const weighted = fitPlatt(m, y, w);
    expect(weighted.a).toBeCloseTo(dup.a, 8);
    expect(weighted.b).toBeCloseTo(dup.b, 8);
  });
  it('stays finite on separable data (target smoothing) and on a constant margin (ridge)', () => {
    const sep = fitPlatt(f([-1, -0.5, 0.5, 1]), u([0, 0, 1, 1]));
    expect(Number.isFinite(sep.a) && Number.isFinite(sep.b)).toBe(true);
    expect(sep.a).toBeGreaterThan(0);
    expect(sep.a).toBeLessThan(10);
    // Smoothed targets 3/4 and 1/4: the fit at the margins ±1 stays inside them.
    const p = applyPlatt(sep, f([-1, 1]));
    expect(p[1]).toBeLessThan(0.8);
    expect(p[0]).toBeGreaterThan(0.2);
    const flat = fitPlatt(f([1, 1, 1, 1]), u([0, 0, 1, 1]));
    expect(applyPlatt(flat, f([1]))[0]).toBeCloseTo(0.5, 6);
  });
  it('refuses labels outside [0, 1]', () => {
    expect(() => fitPlatt(f([0, 1]), f([0, 2]))).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
  });
});

describe('isotonic regression', () => {
  it('pools adjacent violators (hand-computed)', () => {
    // y = 0, 1, 0, 1: the 1 then 0 at p = 0.2, 0.3 violate order → pooled to 0.5.
    expect(fitIsotonic(f([0.1, 0.2, 0.3, 0.4]), u([0, 1, 0, 1]))).toEqual({ x: f([0.1, 0.2, 0.3, 0.4]), y: f([0, 0.5, 0.5, 1]) });
    // With weight 3 on p = 0.2 the pooled block is (3·1 + 1·0) / 4 = 0.75.
    expect(fitIsotonic(f([0.4, 0.3, 0.2, 0.1]), u([1, 0, 1, 0]), f([1, 1, 3, 1])).y).toEqual(f([0, 0.75, 0.75, 1]));
    // Equal scores map to one value; a fully decreasing relation collapses to the mean.
    expect(fitIsotonic(f([0.5, 0.5]), u([0, 1]))).toEqual({ x: f([0.5]), y: f([0.5]) });
    expect(fitIsotonic(f([0.1, 0.2, 0.3]), u([1, 1, 0]))).toEqual({ x: f([0.1, 0.3]), y: f([2 / 3, 2 / 3]) });
  });
  it('interpolates linearly between breakpoints and clamps outside', () => {
    const model = { x: f([0.1, 0.2, 0.4]), y: f([0, 0.5, 1]) };
    // 0.15 is halfway from (0.1, 0) to (0.2, 0.5) → 0.25; 0.3 halfway to (0.4, 1) → 0.75.
    const out = applyIsotonic(model, f([0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.9]));
    expect(Array.from(out)).toEqual([0, 0, expect.closeTo(0.25, 12), 0.5, expect.closeTo(0.75, 12), 1, 1]);
  });
  it('is monotone and fixes a miscalibrated score on held-out rows', () => {
    const train = logisticRows(50_000, 1.7, -0.4, 21);
    const test = logisticRows(50_000, 1.7, -0.4, 22);
    const model = fitIsotonic(train.m.map(sigmoid), train.y);
    for (let i = 1; i < model.y.length; i++) expect(model.y[i]).toBeGreaterThanOrEqual(model.y[i - 1]);
    const grid = new Float64Array(1001).map((_, i) => i / 1000);
    const g = applyIsotonic(model, grid);
    let monotone = true;
    for (let i = 1; i < g.length; i++) monotone &&= g[i] >= g[i - 1];
    expect(monotone).toBe(true);
    const raw = test.m.map(sigmoid);
    const before = weightedEce(raw, test.y);
    const after = weightedEce(applyIsotonic(model, raw), test.y);
    expect(before).toBeGreaterThan(0.05);
    expect(after).toBeLessThan(0.01);
  });
  it('beats Platt where the miscalibration is not logistic (a step), and Platt wins on logistic data', () => {
    const train = stepRows(50_000, 31);
    const test = stepRows(50_000, 32);
    const iso = fitIsotonic(train.p, train.y);
    const platt = fitPlatt(train.p.map(logit), train.y);
    const eIso = weightedEce(applyIsotonic(iso, test.p), test.y);
    const ePlatt = weightedEce(applyPlatt(platt, test.p.map(logit)), test.y);
    expect(eIso).toBeLessThan(0.01);
    expect(ePlatt).toBeGreaterThan(0.05);

    // Small logistic calibration set: Platt's two parameters beat isotonic's many steps (log loss).
    const small = logisticRows(300, 1.7, -0.4, 41);
    const big = logisticRows(50_000, 1.7, -0.4, 42);
    const logLoss = (p: Float64Array, y: Uint8Array) => {
      let s = 0;
      for (let i = 0; i < y.length; i++) s -= Math.log(Math.min(Math.max(y[i] ? p[i] : 1 - p[i], 1e-6), 1));
      return s / y.length;
    };
    const pPlatt = applyPlatt(fitPlatt(small.m, small.y), big.m);
    const pIso = applyIsotonic(fitIsotonic(small.m.map(sigmoid), small.y), big.m.map(sigmoid));
    expect(logLoss(pPlatt, big.y)).toBeLessThan(logLoss(pIso, big.y));
  });
  it('refuses an empty fit', () => {
    expect(() => fitIsotonic(f([0.1]), u([1]), f([0]))).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
  });
});
