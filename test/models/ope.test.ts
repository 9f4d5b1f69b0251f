import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors';
import { bootstrapCi, drEstimate, ipsEstimate, snipsEstimate, type LoggedBandit } from '../../models/ope';
import { rng } from './synthetic';

describe('estimators on a hand-computed log', () => {
  // Rows (logged action, propensity, reward, target action):
  //   0: a 0, p 0.5,  r 1, π 0 → match, w = 2
  //   1: a 1, p 0.25, r 2, π 0 → no match
  //   2: a 0, p 0.5,  r 0, π 0 → match, w = 2
  //   3: a 2, p 0.8,  r 1, π 2 → match, w = 1.25
  const d: LoggedBandit = {
    n: 4,
    action: Int32Array.from([0, 1, 0, 2]),
    propensity: Float64Array.from([0.5, 0.25, 0.5, 0.8]),
    reward: Float64Array.from([1, 2, 0, 1]),
    target: Int32Array.from([0, 0, 0, 2]),
    // q̂ rows (3 actions): [0.5, 0, 0], [0.4, 1, 0], [0.2, 0, 0], [0, 0, 0.6]
    qHat: Float64Array.from([0.5, 0, 0, 0.4, 1, 0, 0.2, 0, 0, 0, 0, 0.6]),
    actions: 3,
  };
  it('IPS and SNIPS, with and without clipping', () => {
    // IPS = (2·1 + 2·0 + 1.25·1) / 4 = 3.25 / 4
    expect(ipsEstimate(d)).toBeCloseTo(0.8125, 12);
    // SNIPS = 3.25 / (2 + 2 + 1.25)
    expect(snipsEstimate(d)).toBeCloseTo(3.25 / 5.25, 12);
    // clip 1.5: weights 1.5, 1.5, 1.25 → IPS 2.75 / 4, SNIPS 2.75 / 4.25
    expect(ipsEstimate(d, 1.5)).toBeCloseTo(0.6875, 12);
    expect(snipsEstimate(d, 1.5)).toBeCloseTo(2.75 / 4.25, 12);
  });
  it('DR', () => {
    // row 0: 0.5 + 2·(1 − 0.5) = 1.5;  row 1: q̂(x, 0) = 0.4 (no match)
    // row 2: 0.2 + 2·(0 − 0.2) = −0.2; row 3: 0.6 + 1.25·(1 − 0.6) = 1.1  → 2.8 / 4
    expect(drEstimate(d)).toBeCloseTo(0.7, 12);
    // With q̂ ≡ 0, DR is IPS.
    expect(drEstimate({ ...d, qHat: new Float64Array(12) })).toBeCloseTo(ipsEstimate(d), 12);
  });
  it('refuses bad logs', () => {
    const code = expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT });
    expect(() => drEstimate({ ...d, qHat: undefined })).toThrow(code);
    expect(() => ipsEstimate({ ...d, propensity: Float64Array.from([0, 0.25, 0.5, 0.8]) })).toThrow(code);
    expect(() => ipsEstimate({ ...d, n: 5 })).toThrow(code);
    expect(() => ipsEstimate(d, 0)).toThrow(code);
    expect(snipsEstimate({ ...d, target: Int32Array.from([2, 2, 2, 0]) })).toBeNaN();
  });
});

/**
 * Two equally likely contexts, three actions, Bernoulli rewards with means MU[x][a]; the logging
 * policy PI0[x] rarely plays the target's (best) actions. True value of the target policy
 * (context 0 → action 1, context 1 → action 0): 0.5 · 0.5 + 0.5 · 0.6 = 0.55.
 */
const MU = [
  [0.2, 0.5, 0.3],
  [0.6, 0.1, 0.4],
];
const PI0 = [
  [0.6, 0.2, 0.2],
  [0.1, 0.3, 0.6],
];
const TARGET = [1, 0];
const TRUE_VALUE = 0.55;

function simulate(n: number, seed: number): LoggedBandit {
  const r = rng(seed);
  const d: LoggedBandit = {
    n,
    action: new Int32Array(n),
    propensity: new Float64Array(n),
    reward: new Float64Array(n),
    target: new Int32Array(n),
    qHat: new Float64Array(n * 3),
    actions: 3,
  };
  for (let i = 0; i < n; i++) {
    const x = r() < 0.5 ? 0 : 1;
    const u = r();
    const a = u < PI0[x][0] ? 0 : u < PI0[x][0] + PI0[x][1] ? 1 : 2;
    d.action[i] = a;
    d.propensity[i] = PI0[x][a];
    d.reward[i] = r() < MU[x][a] ? 1 : 0;
    d.target[i] = TARGET[x];
    d.qHat!.set(MU[x], i * 3); // a perfect reward model
  }
  return d;
}

describe('estimators on a simulated contextual bandit (true value 0.55)', () => {
  const d = simulate(20_000, 1);
  it('IPS, SNIPS and DR are within 3 standard errors of the truth', () => {
    // SE(IPS) ≈ √(E[w²r²] − V²) / √n = √(0.5·0.2·25·0.5 + 0.5·0.1·100·0.6 − 0.3025) / √20000 ≈ 0.014
    expect(Math.abs(ipsEstimate(d) - TRUE_VALUE)).toBeLessThan(0.042);
    expect(Math.abs(snipsEstimate(d) - TRUE_VALUE)).toBeLessThan(0.042);
    expect(Math.abs(drEstimate(d) - TRUE_VALUE)).toBeLessThan(0.03);
    // The logging policy itself earns 0.5·(0.12 + 0.1 + 0.06) + 0.5·(0.06 + 0.03 + 0.24) = 0.305.
    let logged = 0;
    for (let i = 0; i < d.n; i++) logged += d.reward[i] / d.n;
    expect(logged).toBeCloseTo(0.305, 1);
  });
  it('are unbiased: the mean over 100 independent logs is within 0.015 of the truth', () => {
    const ests = Array.from({ length: 100 }, (_, k) => simulate(2_000, 100 + k));
    for (const est of [ipsEstimate, snipsEstimate, drEstimate]) {
      const mean = ests.reduce((s, e) => s + est(e), 0) / ests.length;
      expect(Math.abs(mean - TRUE_VALUE)).toBeLessThan(0.015);
    }
  });
  it('DR with a perfect reward model has lower variance than IPS', () => {
    const logs = Array.from({ length: 100 }, (_, k) => simulate(2_000, 500 + k));
    const variance = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
    };
    // Per-row variances: IPS ≈ 3.95, DR ≈ 1.83 → ratio ≈ 0.46.
    const vIps = variance(logs.map((l) => ipsEstimate(l)));
    const vDr = variance(logs.map((l) => drEstimate(l)));
    expect(vDr).toBeLessThan(0.7 * vIps);
  });
  it('bootstrap 95% CIs contain the true value; DR’s is the narrowest', () => {
    const ips = bootstrapCi(d, ipsEstimate, { reps: 500, seed: 1 });
    const snips = bootstrapCi(d, snipsEstimate, { reps: 500, seed: 1 });
    const dr = bootstrapCi(d, drEstimate, { reps: 500, seed: 1 });
    for (const ci of [ips, snips, dr]) {
      expect(ci.ci_low).toBeLessThan(TRUE_VALUE);
      expect(ci.ci_high).toBeGreaterThan(TRUE_VALUE);
      expect(ci.ci_low).toBeLessThan(ci.estimate);
      expect(ci.ci_high).toBeGreaterThan(ci.estimate);
    }
    expect(ips.estimate).toBe(ipsEstimate(d));
    // Width ≈ 2 · 1.96 · SE: IPS ≈ 0.055, DR ≈ 0.038.
    expect(ips.ci_high - ips.ci_low).toBeGreaterThan(0.04);
    expect(ips.ci_high - ips.ci_low).toBeLessThan(0.07);
    expect(dr.ci_high - dr.ci_low).toBeLessThan(ips.ci_high - ips.ci_low);
  });
  it('bootstrap is reproducible by seed, narrows with the level, and passes the clip on', () => {
    const small = simulate(2_000, 7);
    const a = bootstrapCi(small, ipsEstimate, { reps: 200, seed: 3 });
    expect(bootstrapCi(small, ipsEstimate, { reps: 200, seed: 3 })).toEqual(a);
    expect(bootstrapCi(small, ipsEstimate, { reps: 200, seed: 4 })).not.toEqual(a);
    const half = bootstrapCi(small, ipsEstimate, { reps: 200, seed: 3, level: 0.5 });
    expect(half.ci_high - half.ci_low).toBeLessThan(a.ci_high - a.ci_low);
    const clipped = bootstrapCi(small, ipsEstimate, { reps: 200, seed: 3, clip: 4 });
    expect(clipped.estimate).toBe(ipsEstimate(small, 4));
    // Clipping the 1/0.1 and 1/0.2 weights at 4 biases IPS down, towards the logged actions.
    expect(clipped.estimate).toBeLessThan(0.45);
    // The fast path for built-in estimators equals resampling the log and re-running them.
    for (const est of [ipsEstimate, snipsEstimate, drEstimate]) {
      const wrapped = (l: LoggedBandit, c?: number) => est(l, c);
      expect(bootstrapCi(small, wrapped, { reps: 50, seed: 2, clip: 6 })).toEqual(bootstrapCi(small, est, { reps: 50, seed: 2, clip: 6 }));
    }
    // Any estimator works, e.g. the logged mean reward.
    const loggedMean = (l: LoggedBandit) => l.reward.subarray(0, l.n).reduce((s, v) => s + v, 0) / l.n;
    const lm = bootstrapCi(small, loggedMean, { reps: 200 });
    expect(lm.ci_low).toBeLessThan(lm.estimate);
    expect(lm.ci_high).toBeGreaterThan(lm.estimate);
    expect(() => bootstrapCi(small, ipsEstimate, { level: 1 })).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
  });
});
