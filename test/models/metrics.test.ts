import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors';
import { auc, baseRate, brier, ece, evaluateBinary, logLoss } from '../../models';
import { rng } from './synthetic';

const f = (xs: number[]) => Float64Array.from(xs);
const u = (xs: number[]) => Uint8Array.from(xs);

function bruteAuc(p: ArrayLike<number>, y: Uint8Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (!y[i]) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j]) continue;
      pairs++;
      wins += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('auc', () => {
  it('matches hand-computed cases, ties counting one half', () => {
    expect(auc(f([0.1, 0.4, 0.35, 0.8]), u([0, 0, 1, 1]))).toBeCloseTo(0.75, 12);
    expect(auc(f([0.5, 0.5, 0.5, 0.5]), u([0, 1, 0, 1]))).toBe(0.5);
    expect(auc(f([0.2, 0.5, 0.5, 0.9]), u([0, 1, 0, 1]))).toBe(0.875);
    expect(auc(f([0.9, 0.1]), u([0, 1]))).toBe(0);
    expect(auc(f([0.1, 0.9]), u([0, 1]))).toBe(1);
  });
  it('is NaN when a class is missing', () => {
    expect(auc(f([0.1, 0.2]), u([1, 1]))).toBeNaN();
    expect(auc(f([]), u([]))).toBeNaN();
  });
  it('equals brute-force pairwise AUC on random data with many ties', () => {
    const r = rng(7);
    for (const n of [2, 17, 500, 1500]) {
      const y = new Uint8Array(n);
      const p = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = r() < 0.3 ? 1 : 0;
        p[i] = Math.round((r() + 0.3 * y[i]) * 10) / 10; // 1-decimal scores: lots of ties
      }
      if (!y.includes(1) || !y.includes(0)) continue;
      expect(auc(p, y)).toBeCloseTo(bruteAuc(p, y), 12);
    }
  });
  it('refuses mismatched lengths', () => {
    expect(() => auc(f([0.1]), u([0, 1]))).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_CORRUPT }));
  });
});

describe('log loss, Brier, base rate, ECE', () => {
  it('log loss matches the formula and clips 0/1 probabilities', () => {
    expect(logLoss(f([0.9, 0.2]), u([1, 0]))).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    expect(logLoss(f([0, 1]), u([1, 0]))).toBeCloseTo(-Math.log(1e-15), 2);
    expect(Number.isFinite(logLoss(f([0]), u([1])))).toBe(true);
  });
  it('Brier and base rate', () => {
    expect(brier(f([0.9, 0.2]), u([1, 0]))).toBeCloseTo(0.025, 12);
    expect(baseRate(u([1, 0, 0, 1, 1]))).toBe(0.6);
  });
  it('ECE over 10 bins, with 1.0 in the last bin', () => {
    expect(ece(f([0.05, 0.05, 0.95, 0.95]), u([0, 1, 1, 1]))).toBeCloseTo(0.25, 12);
    expect(ece(f([1, 1]), u([1, 1]))).toBe(0);
    expect(ece(f([0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]), u([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]))).toBeCloseTo(0, 12);
  });
  it('evaluateBinary bundles them', () => {
    const m = evaluateBinary(f([0.1, 0.4, 0.35, 0.8]), u([0, 0, 1, 1]));
    expect(m).toMatchObject({ rows: 4, positives: 2, baseRate: 0.5 });
    expect(m.auc).toBeCloseTo(0.75, 12);
  });
});
