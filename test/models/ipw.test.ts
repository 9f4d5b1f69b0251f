import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors';
import { ipwWeights } from '../../models/ipw';
import { rng } from './synthetic';

const f = (xs: number[]) => Float64Array.from(xs);

function weightedMean(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    s += w[i] * y[i];
    sw += w[i];
  }
  return s / sw;
}

describe('ipwWeights', () => {
  it('is 1/p clipped, optionally scaled to mean 1', () => {
    expect(ipwWeights(f([0.5, 0.25, 0.01]), { normalise: false })).toEqual(f([2, 4, 20]));
    expect(ipwWeights(f([0.5, 0.25, 0.01]), { normalise: false, clip: Infinity })).toEqual(f([2, 4, 100]));
    // Default clip 20 and normalise: 2, 4, 20 (sum 26) × 3/26
    const w = ipwWeights(f([0.5, 0.25, 0.01]));
    expect(Array.from(w)).toEqual([6 / 26, 12 / 26, 60 / 26].map((v) => expect.closeTo(v, 12)));
    expect(w.reduce((a, b) => a + b, 0) / w.length).toBeCloseTo(1, 12);
    expect(ipwWeights(f([]))).toEqual(f([]));
  });
  it('refuses propensities outside (0, 1] and a clip below 1', () => {
    const code = expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT });
    expect(() => ipwWeights(f([0.5, 0]))).toThrow(code);
    expect(() => ipwWeights(f([1.2]))).toThrow(code);
    expect(() => ipwWeights(f([NaN]))).toThrow(code);
    expect(() => ipwWeights(f([0.5]), { clip: 0.5 })).toThrow(code);
  });
});

describe('IPW removes the bias of a skewed logging policy', () => {
  it('recovers the population mean under treatment when treatment and outcome both depend on x', () => {
    // x ~ Bernoulli(0.5); P(treat | x) = 0.8 if x = 1 else 0.2; P(y = 1 | treated, x) = 0.7 or 0.3.
    // Population mean under treatment: 0.5·0.7 + 0.5·0.3 = 0.5.
    // Naive treated mean: P(x = 1 | treated) = 0.4 / (0.4 + 0.1) = 0.8 → 0.8·0.7 + 0.2·0.3 = 0.62.
    const r = rng(17);
    const n = 50_000;
    const y: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = r() < 0.5 ? 1 : 0;
      const e = x ? 0.8 : 0.2;
      if (r() >= e) continue; // control rows do not inform the treated mean
      p.push(e);
      y.push(r() < (x ? 0.7 : 0.3) ? 1 : 0);
    }
    const naive = y.reduce((a, b) => a + b, 0) / y.length;
    expect(naive).toBeCloseTo(0.62, 1);
    expect(Math.abs(naive - 0.5)).toBeGreaterThan(0.1);
    const w = ipwWeights(p);
    expect(Math.abs(weightedMean(y, w) - 0.5)).toBeLessThan(0.01);
  });
  it('clipping bounds the weights at the cost of a small bias when propensities get tiny', () => {
    // x ~ U(0, 1); P(treat | x) = 0.01 + 0.98x; P(y = 1 | treated, x) = 0.2 + 0.6x → truth 0.5.
    // Rows with e < 1/20 (x < 0.041) are under-weighted by the clip: they have low outcomes, so
    // the clipped estimate is pulled up slightly, but far less than the naive mean (≈ 0.6).
    const r = rng(23);
    const n = 100_000;
    const y: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = r();
      const e = 0.01 + 0.98 * x;
      if (r() >= e) continue;
      p.push(e);
      y.push(r() < 0.2 + 0.6 * x ? 1 : 0);
    }
    const naive = y.reduce((a, b) => a + b, 0) / y.length;
    const clipped = ipwWeights(p, { clip: 20 });
    const raw = ipwWeights(p, { clip: Infinity, normalise: false });
    expect(Math.max(...ipwWeights(p, { clip: 20, normalise: false }))).toBe(20);
    expect(Math.max(...raw)).toBeGreaterThan(20);
    const eClipped = weightedMean(y, clipped);
    expect(naive - 0.5).toBeGreaterThan(0.08);
    expect(Math.abs(eClipped - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(eClipped - 0.5)).toBeLessThan(Math.abs(naive - 0.5) / 4);
  });
});
