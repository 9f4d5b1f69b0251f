import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors';
import { ipwWeights } from '../../models/ipw';
import { auuc, pearson, qiniCoefficient, qiniCurve, upliftAtTopK } from '../../models/uplift-metrics';
import { rng } from './synthetic';

const f = (xs: number[]) => Float64Array.from(xs);
const u = (xs: number[]) => Uint8Array.from(xs);

// Four rows, scores 4 > 3 > 2 > 1: treated 1, 0, 1, 0; outcomes 1, 0, 0, 1.
const t4 = u([1, 0, 1, 0]);
const y4 = u([1, 0, 0, 1]);
const best = f([4, 3, 2, 1]);
const worst = f([1, 2, 3, 4]);

describe('Qini curve and coefficient', () => {
  it('match the hand arithmetic for a good ordering', () => {
    // cut  N_t N_c Y_t Y_c  gain = Y_t − Y_c·N_t/N_c   ÷ N = 4
    //  1    1   0   1   0   1 (no control yet: term 0)  0.25
    //  2    1   1   1   0   1                           0.25
    //  3    2   1   1   0   1                           0.25
    //  4    2   2   1   1   1 − 1·2/2 = 0               0
    // trapezoids of width 0.25: 0.03125 + 0.0625 + 0.0625 + 0.03125 = 0.1875; random line area 0/2.
    expect(qiniCoefficient(best, t4, y4)).toBeCloseTo(0.1875, 12);
    const curve = qiniCurve(best, t4, y4, undefined, 8);
    expect(curve.map((p) => p.frac)).toEqual([0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1]);
    // Linear between the cuts: 0.125 at frac 1/8 and at 7/8.
    expect(curve.map((p) => p.gain)).toEqual([0, 0.125, 0.25, 0.25, 0.25, 0.25, 0.25, 0.125, 0].map((g) => expect.closeTo(g, 12)));
  });
  it('go negative for the reversed ordering', () => {
    // order: rows 3, 2, 1, 0 → t = 0, 1, 0, 1; y = 1, 0, 0, 1
    //  1: N_t 0 N_c 1 Y_t 0 Y_c 1 → 0 − 1·0/1 = 0        → 0
    //  2: N_t 1 N_c 1 Y_t 0 Y_c 1 → 0 − 1·1/1 = −1       → −0.25
    //  3: N_t 1 N_c 2 Y_t 0 Y_c 1 → 0 − 1·1/2 = −0.5     → −0.125
    //  4: N_t 2 N_c 2 Y_t 1 Y_c 1 → 1 − 1 = 0            → 0
    // area: 0 − 0.03125 − 0.046875 − 0.015625 = −0.09375
    expect(qiniCoefficient(worst, t4, y4)).toBeCloseTo(-0.09375, 12);
  });
  it('are 0 when every score ties (no ordering information) and ignore row order within ties', () => {
    expect(qiniCoefficient(f([1, 1, 1, 1]), t4, y4)).toBe(0);
    expect(auuc(f([1, 1, 1, 1]), t4, y4)).toBe(0);
    expect(qiniCurve(f([1, 1, 1, 1]), t4, y4, undefined, 4).map((p) => p.gain)).toEqual([0, 0, 0, 0, 0]);
    const s = f([2, 2, 1, 1, 3]);
    const t = u([1, 0, 1, 0, 1]);
    const y = u([1, 0, 0, 1, 1]);
    const perm = [4, 3, 2, 1, 0];
    const ps = f(perm.map((i) => s[i]));
    const pt = u(perm.map((i) => t[i]));
    const py = u(perm.map((i) => y[i]));
    expect(qiniCoefficient(ps, pt, py)).toBeCloseTo(qiniCoefficient(s, t, y), 12);
    expect(auuc(ps, pt, py)).toBeCloseTo(auuc(s, t, y), 12);
  });
  it('use weights as row counts, with tie groups entering together', () => {
    // s = 2, 2, 1; t = 1, 0, 1; y = 1, 0, 0; w = 2, 1, 1 → N = 4
    // after the tie group {0, 1}: x = 3/4, N_t 2, N_c 1, Y_t 2, Y_c 0 → gain 2/4 = 0.5
    // after row 2:                x = 1,   N_t 3, N_c 1, Y_t 2, Y_c 0 → gain 0.5
    // area 0.75·0.5/2 + 0.25·0.5 = 0.3125, minus random 0.5/2 → 0.0625
    const s = f([2, 2, 1]);
    const t = u([1, 0, 1]);
    const y = u([1, 0, 0]);
    const w = f([2, 1, 1]);
    expect(qiniCoefficient(s, t, y, w)).toBeCloseTo(0.0625, 12);
    // uplift curve: (1 − 0)·0.75 = 0.75, then (2/3 − 0)·1; area 0.28125 + 0.25·(0.75 + 2/3)/2 = 0.458333…
    // minus random (2/3)/2 → 0.125
    expect(auuc(s, t, y, w)).toBeCloseTo(0.125, 12);
    // Same as duplicating row 0.
    expect(qiniCoefficient(f([2, 2, 2, 1]), u([1, 1, 0, 1]), u([1, 1, 0, 0]))).toBeCloseTo(0.0625, 12);
  });
  it('refuses bad input', () => {
    expect(() => qiniCoefficient(best, u([1, 0, 2, 0]), y4)).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
    expect(() => auuc(best, t4, u([1]))).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
    expect(() => qiniCurve(best, t4, y4, undefined, 0)).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
  });
});

describe('AUUC', () => {
  it('matches the hand arithmetic; the reversed ordering mirrors it', () => {
    // cut  rate_t  rate_c  (rate_t − rate_c)·k/N
    //  1   1/1     0 (none)   1 · 0.25 = 0.25
    //  2   1/1     0/1        1 · 0.5  = 0.5
    //  3   1/2     0/1      0.5 · 0.75 = 0.375
    //  4   1/2     1/2        0 · 1    = 0
    // area: 0.03125 + 0.09375 + 0.109375 + 0.046875 = 0.28125; random 0
    expect(auuc(best, t4, y4)).toBeCloseTo(0.28125, 12);
    // reversed: −0.25, −0.5, −0.375, 0 → −0.28125
    expect(auuc(worst, t4, y4)).toBeCloseTo(-0.28125, 12);
  });
});

/** Randomised trial: τ(x) = x − 0.3 with x ~ U(0, 1); base rate 0.3; half treated. */
function trial(n: number, seed: number) {
  const r = rng(seed);
  const tau = new Float64Array(n);
  const t = new Uint8Array(n);
  const y = new Uint8Array(n);
  const noise = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    tau[i] = r() - 0.3;
    t[i] = r() < 0.5 ? 1 : 0;
    y[i] = r() < 0.3 + (t[i] ? tau[i] : 0) ? 1 : 0;
    noise[i] = r();
  }
  return { tau, t, y, noise };
}

describe('perfect vs random vs reversed ordering on a simulated trial', () => {
  const d = trial(40_000, 5);
  const neg = d.tau.map((v) => -v);
  it('orders the Qini coefficient and AUUC: perfect > random ≈ 0 > reversed', () => {
    const [qBest, qRand, qWorst] = [d.tau, d.noise, neg].map((s) => qiniCoefficient(s, d.t, d.y));
    const [aBest, aRand, aWorst] = [d.tau, d.noise, neg].map((s) => auuc(s, d.t, d.y));
    // Expected perfect uplift-curve area over random: ∫₀¹ ∫₀^q (0.7 − v) dv dq − 0.2/2 = 0.35 − 1/6 − 0.1 ≈ 0.083
    expect(aBest).toBeGreaterThan(0.07);
    expect(aBest).toBeLessThan(0.1);
    // The Qini gain counts incremental outcomes among the treated half only: about half of that.
    expect(qBest).toBeGreaterThan(0.035);
    expect(qBest).toBeLessThan(0.05);
    expect(Math.abs(qRand)).toBeLessThan(0.008);
    expect(Math.abs(aRand)).toBeLessThan(0.015);
    expect(qWorst).toBeLessThan(-0.035);
    expect(aWorst).toBeLessThan(-0.07);
  });
  it('ends the Qini curve at ATE · N_t / N and peaks where τ crosses 0', () => {
    const curve = qiniCurve(d.tau, d.t, d.y);
    expect(curve).toHaveLength(101);
    expect(curve[0]).toEqual({ frac: 0, gain: 0 });
    expect(curve[100].frac).toBe(1);
    expect(curve[100].gain).toBeCloseTo(0.2 * 0.5, 1);
    const peak = curve.reduce((a, b) => (b.gain > a.gain ? b : a));
    expect(peak.frac).toBeGreaterThan(0.6);
    expect(peak.frac).toBeLessThan(0.8);
  });
  it('uplift at top k follows τ: top 10% ≈ 0.65, top 50% ≈ 0.45', () => {
    const [k10, , , k50] = upliftAtTopK(d.tau, d.t, d.y);
    expect(k10.k).toBe(0.1);
    expect(k10.uplift).toBeCloseTo(0.65, 1);
    expect(k50.uplift).toBeCloseTo(0.45, 1);
    expect(k10.treated - k10.control).toBe(k10.uplift);
    expect(pearson(d.tau, d.tau.map((v) => 3 * v + 1))).toBeCloseTo(1, 12);
    expect(Math.abs(pearson(d.tau, d.noise))).toBeLessThan(0.02);
  });
});

describe('uplift at top k', () => {
  it('matches hand counts and takes ⌈k·n⌉ rows', () => {
    // top 25% = row 0: treated rate 1, no control; top 50%: 1 vs 0; all: 1/2 vs 1/2
    const [a, b, c] = upliftAtTopK(best, t4, y4, undefined, [0.25, 0.5, 1]);
    expect(a).toMatchObject({ k: 0.25, treated: 1, control: NaN, uplift: NaN });
    expect(b).toEqual({ k: 0.5, treated: 1, control: 0, uplift: 1 });
    expect(c).toEqual({ k: 1, treated: 0.5, control: 0.5, uplift: 0 });
    // 0.3 of 10 rows is exactly 3 rows (not 4 through 0.3·10 = 3.0000000000000004)
    const s = f([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const t = u([1, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    const y = u([1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(upliftAtTopK(s, t, y, undefined, [0.3])[0]).toEqual({ k: 0.3, treated: 1, control: 0.5, uplift: 0.5 });
  });
  it('with IPS weights removes confounding from a skewed treatment policy', () => {
    // x ~ Bernoulli(0.5); P(treat | x) = 0.8 or 0.2; base 0.2 + 0.3x; effect 0.1 + 0.2x → ATE 0.2.
    const r = rng(9);
    const n = 40_000;
    const t = new Uint8Array(n);
    const y = new Uint8Array(n);
    const prop = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = r() < 0.5 ? 1 : 0;
      const e = x ? 0.8 : 0.2;
      t[i] = r() < e ? 1 : 0;
      prop[i] = t[i] ? e : 1 - e;
      y[i] = r() < 0.2 + 0.3 * x + (t[i] ? 0.1 + 0.2 * x : 0) ? 1 : 0;
    }
    const s = new Float64Array(n); // all tied: k = 1 is the whole population
    // Naive: treated rate 0.8·0.8 + 0.2·0.3 = 0.70, control 0.2·0.5 + 0.8·0.2 = 0.26 → 0.44, not 0.2.
    const naive = upliftAtTopK(s, t, y, undefined, [1])[0];
    expect(naive.uplift).toBeCloseTo(0.44, 1);
    const w = ipwWeights(prop, { clip: 20, normalise: true });
    const fixed = upliftAtTopK(s, t, y, w, [1])[0];
    expect(Math.abs(fixed.uplift - 0.2)).toBeLessThan(0.02);
    // The weighted Qini curve ends at ATE × (weighted treated share ≈ 1/2).
    expect(qiniCurve(s, t, y, w, 4)[4].gain).toBeCloseTo(0.1, 1);
  });
});

describe('pearson', () => {
  it('matches hand values and is NaN for constant input', () => {
    // deviations (−1.5, −0.5, 0.5, 1.5) and (−1.5, 0.5, −0.5, 1.5): 4 / √(5·5) = 0.8
    expect(pearson(f([1, 2, 3, 4]), f([1, 3, 2, 4]))).toBeCloseTo(0.8, 12);
    expect(pearson(f([1, 2, 3]), f([3, 2, 1]))).toBeCloseTo(-1, 12);
    expect(pearson(f([1, 1, 1]), f([1, 2, 3]))).toBeNaN();
    expect(pearson(f([1]), f([1]))).toBeNaN();
  });
});
