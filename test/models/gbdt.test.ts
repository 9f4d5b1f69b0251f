import { describe, expect, it } from 'vitest';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { binMatrix, binOf, computeBinLayout, layoutOf } from '../../models/gbdt-binning';
import { accumulateHistogram, createHistogramBuilder } from '../../models/gbdt-hist';
import { predictMargin, predictProba, trainGbdt, type GbdtData, type GbdtModel, type GbdtTree } from '../../models/gbdt';
import { predict, trainLogisticRegression } from '../../models/logistic-regression';
import { auc } from '../../models/metrics';
import { normal, rng } from './synthetic';

/** XOR of the signs of features 0 and 1 (`flip` label noise) plus `noise` pure-noise features. */
function xorData(n: number, noise: number, seed: number, flip = 0.1): GbdtData & { y: Uint8Array } {
  const f = 2 + noise;
  const r = rng(seed);
  const x = new Float32Array(n * f);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) x[i * f + j] = 2 * r() - 1;
    const xor = x[i * f] > 0 !== x[i * f + 1] > 0;
    y[i] = (r() < flip ? !xor : xor) ? 1 : 0;
  }
  return { x, y, n, f };
}

/** Rows split [from, to). */
function slice(d: GbdtData & { y: Uint8Array }, from: number, to: number): GbdtData & { y: Uint8Array } {
  return { x: d.x.subarray(from * d.f, to * d.f), y: d.y.subarray(from, to), n: to - from, f: d.f };
}

function depthOf(t: GbdtTree, node = 0): number {
  return t.left[node] < 0 ? 0 : 1 + Math.max(depthOf(t, t.left[node]), depthOf(t, t.right[node]));
}

function leavesOf(t: GbdtTree): number {
  let c = 0;
  for (let i = 0; i < t.left.length; i++) if (t.left[i] < 0) c++;
  return c;
}

function leafOf(t: GbdtTree, x: Float32Array, base: number): number {
  let node = 0;
  while (t.left[node] >= 0) node = x[base + t.feature[node]] < t.threshold[node] ? t.left[node] : t.right[node];
  return node;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('gbdt binning', () => {
  it('puts v in bin = count of edges ≤ v, so bins ≤ b are exactly v < edges[b]; NaN in the top bin', () => {
    const r = rng(5);
    const n = 3000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = i % 97 === 0 ? NaN : i % 89 === 0 ? Infinity : i % 83 === 0 ? -Infinity : Math.round(normal(r) * 40) / 8;
    const layout = computeBinLayout(x, n, 1, 16, r);
    const e = layout.edges[0];
    expect(e.length).toBe(15);
    for (let i = 1; i < e.length; i++) expect(e[i]).toBeGreaterThan(e[i - 1]);
    const bins = binMatrix(x, n, 1, layout);
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      if (bins[i] !== binOf(e, x[i])) wrong++;
      for (let b = 0; b < e.length; b++) if (bins[i] <= b !== x[i] < e[b]) wrong++;
    }
    expect(wrong).toBe(0);
    expect(binOf(e, NaN)).toBe(e.length);
  });

  it('gives every distinct value its own bin when there are few, edges being the values themselves', () => {
    const x = Float32Array.from([3, 1, 2, 2, 3, 1, 5, 5, 5]);
    const layout = computeBinLayout(x, x.length, 1, 255, rng(1));
    expect(Array.from(layout.edges[0])).toEqual([2, 3, 5]);
    const constant = computeBinLayout(new Float32Array(10).fill(7), 10, 1, 255, rng(1));
    expect(constant.nBins[0]).toBe(1);
  });
});

describe('gbdt histograms', () => {
  it('the WebAssembly kernel (1 and 2 threads) sums exactly what the JavaScript kernel sums, for all features and a subset', () => {
    const n = 6000;
    const F = 7;
    const r = rng(11);
    const edges = Array.from({ length: F }, (_, j) => Float32Array.from({ length: 3 + 20 * j }, (_, k) => k));
    const layout = layoutOf(edges);
    const bins = new Uint8Array(n * F);
    for (let i = 0; i < n; i++) for (let j = 0; j < F; j++) bins[i * F + j] = Math.floor(r() * layout.nBins[j]);
    const off2 = layout.offsets.map((o) => 2 * o);
    for (const threads of [1, 2]) {
      const hb = createHistogramBuilder(bins, n, F, layout.offsets, layout.totalBins, threads);
      try {
        for (let i = 0; i < n; i++) {
          hb.gh[2 * i] = normal(r);
          hb.gh[2 * i + 1] = r();
          hb.idx[i] = i;
        }
        hb.feats.set([0, 1, 2, 3, 4, 5, 6]);
        for (const [start, end, nFeats] of [
          [0, n, F],
          [17, 5003, F],
          [5, 900, F],
          [0, n, 3],
        ]) {
          if (nFeats < F) hb.feats.set([6, 2, 4]);
          const out = new Float64Array(2 * layout.totalBins);
          hb.build(start, end, nFeats, out);
          const ref = new Float64Array(2 * layout.totalBins);
          if (threads === 1) {
            accumulateHistogram(bins, F, hb.gh, hb.idx, start, end, hb.feats, nFeats, off2, ref);
            expect(Array.from(out)).toEqual(Array.from(ref));
          } else {
            const one = createHistogramBuilder(bins, n, F, layout.offsets, layout.totalBins, 1);
            one.gh.set(hb.gh);
            one.idx.set(hb.idx);
            one.feats.set(hb.feats);
            one.build(start, end, nFeats, ref);
            expect(maxAbsDiff(out, ref)).toBeLessThan(1e-9);
          }
        }
      } finally {
        hb.close();
      }
    }
  });
});

describe('gbdt trainer', () => {
  it('learns XOR of two features (test AUC > 0.95) where a linear model cannot (< 0.6)', () => {
    const d = xorData(12_000, 4, 3, 0.02); // 2% flipped labels: the best possible AUC is ~0.98
    const train = slice(d, 0, 9000);
    const test = slice(d, 9000, 12_000);
    const m = trainGbdt(train, { nTrees: 60, maxDepth: 3, learningRate: 0.3 });
    expect(auc(predictProba(m, test.x, test.n), test.y)).toBeGreaterThan(0.95);
    const lin = trainLogisticRegression(train.x, train.y, train.f);
    expect(auc(predict(lin, test.x, test.n), test.y)).toBeLessThan(0.6);
  });

  it('finds a step in one feature: the root splits near it and the probabilities on each side are right', () => {
    const n = 8000;
    const r = rng(9);
    const x = new Float32Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.fround(r());
      y[i] = r() < (x[i] >= 0.3 ? 0.9 : 0.1) ? 1 : 0;
    }
    const m = trainGbdt({ x, y, n, f: 1 }, { nTrees: 40, maxDepth: 2, learningRate: 0.3 });
    const root = m.trees[0];
    expect(root.feature[0]).toBe(0);
    expect(Math.abs(root.threshold[0] - 0.3)).toBeLessThan(0.02);
    const grid = Float32Array.from({ length: 101 }, (_, i) => i / 100);
    const p = predictProba(m, grid, grid.length);
    const mean = (a: number, b: number) => p.slice(a, b).reduce((s, v) => s + v, 0) / (b - a);
    expect(Math.abs(mean(0, 26) - 0.1)).toBeLessThan(0.04);
    expect(Math.abs(mean(35, 101) - 0.9)).toBeLessThan(0.04);
  });

  it('respects maxDepth, maxLeaves and minChildWeight, and γ can forbid every split', () => {
    const d = xorData(4000, 3, 4);
    const deep = trainGbdt(d, { nTrees: 5, maxDepth: 4 });
    for (const t of deep.trees) {
      expect(depthOf(t)).toBeLessThanOrEqual(4);
      expect(leavesOf(t)).toBeLessThanOrEqual(16);
    }
    const few = trainGbdt(d, { nTrees: 5, maxDepth: 6, maxLeaves: 5 });
    for (const t of few.trees) expect(leavesOf(t)).toBeLessThanOrEqual(5);
    expect(Math.max(...few.trees.map(leavesOf))).toBe(5);

    // first tree: every row has hessian p0(1 − p0) at the base score, so a leaf's weight is rows × that
    const mcw = 60;
    const m = trainGbdt(d, { nTrees: 1, maxDepth: 8, minChildWeight: mcw });
    const p0 = 1 / (1 + Math.exp(-m.baseScore));
    const rows = new Map<number, number>();
    for (let i = 0; i < d.n; i++) {
      const leaf = leafOf(m.trees[0], d.x, i * d.f);
      rows.set(leaf, (rows.get(leaf) ?? 0) + 1);
    }
    expect(rows.size).toBeGreaterThan(2);
    for (const c of rows.values()) expect(c * p0 * (1 - p0)).toBeGreaterThanOrEqual(mcw - 1e-9);

    const stumps = trainGbdt(d, { nTrees: 3, gamma: 1e9 });
    for (const t of stumps.trees) expect(t.left.length).toBe(1);
  });

  it('stops early on the validation loss and keeps the trees up to the best round', () => {
    const d = xorData(6000, 6, 6);
    const train = slice(d, 0, 4000);
    const valid = slice(d, 4000, 6000);
    const rounds: number[] = [];
    const m = trainGbdt(train, { nTrees: 400, maxDepth: 6, learningRate: 0.5, earlyStoppingRounds: 10 }, valid, (round, tl, vl) => {
      rounds.push(round);
      expect(Number.isFinite(tl)).toBe(true);
      expect(vl).not.toBeNull();
    });
    expect(m.validLoss.length).toBeLessThan(400);
    expect(m.trees.length).toBe(m.bestIteration + 1);
    expect(m.validLoss.length).toBe(m.bestIteration + 1 + 10);
    expect(rounds.length).toBe(m.validLoss.length);
    expect(Math.min(...m.validLoss)).toBe(m.validLoss[m.bestIteration]);
    const noStop = trainGbdt(train, { nTrees: 30, earlyStoppingRounds: 0 }, valid);
    expect(noStop.trees.length).toBe(30);
    const noValid = trainGbdt(train, { nTrees: 7 });
    expect(noValid.trees.length).toBe(7);
    expect(noValid.bestIteration).toBe(6);
    expect(noValid.validLoss).toEqual([]);
  });

  it('treats weight 2 like a duplicated row, and weights change the model', () => {
    // features on a 0.05 grid: fewer distinct values than bins, so both data sets get the same edges
    const base = xorData(3000, 2, 8);
    for (let i = 0; i < base.x.length; i++) base.x[i] = Math.round(base.x[i] * 20) / 20;
    const dup: number[] = [];
    for (let i = 0; i < base.n; i++) if (base.x[i * base.f] > 0.5 || i % 7 === 0) dup.push(i);
    const n2 = base.n + dup.length;
    const x2 = new Float32Array(n2 * base.f);
    const y2 = new Uint8Array(n2);
    x2.set(base.x);
    y2.set(base.y);
    dup.forEach((r, k) => {
      x2.set(base.x.subarray(r * base.f, (r + 1) * base.f), (base.n + k) * base.f);
      y2[base.n + k] = base.y[r];
    });
    const w = new Float64Array(base.n).fill(1);
    for (const r of dup) w[r] = 2;
    const params = { nTrees: 20, maxDepth: 4 };
    const weighted = trainGbdt({ ...base, weights: w }, params);
    const duplicated = trainGbdt({ x: x2, y: y2, n: n2, f: base.f }, params);
    const plain = trainGbdt(base, params);
    const pw = predictMargin(weighted, base.x, base.n);
    expect(maxAbsDiff(pw, predictMargin(duplicated, base.x, base.n))).toBeLessThan(1e-9);
    expect(maxAbsDiff(pw, predictMargin(plain, base.x, base.n))).toBeGreaterThan(0.01);
  });

  it('is deterministic for a seed (with row and feature subsampling, 1 or 2 threads), and the seed matters', () => {
    const d = xorData(5000, 6, 12);
    const p = { nTrees: 15, subsample: 0.7, colsample: 0.6, seed: 3 };
    const margins = (m: GbdtModel) => predictMargin(m, d.x, d.n);
    const a = margins(trainGbdt(d, p));
    expect(Array.from(margins(trainGbdt(d, p)))).toEqual(Array.from(a));
    const t2 = margins(trainGbdt(d, { ...p, threads: 2 }));
    expect(Array.from(margins(trainGbdt(d, { ...p, threads: 2 })))).toEqual(Array.from(t2));
    expect(maxAbsDiff(a, t2)).toBeLessThan(1e-9);
    expect(maxAbsDiff(a, margins(trainGbdt(d, { ...p, seed: 4 })))).toBeGreaterThan(1e-3);
  });

  it('sends NaN right at every split, as a value above every threshold', () => {
    const d = xorData(3000, 1, 13);
    const m = trainGbdt(d, { nTrees: 10, maxDepth: 3 });
    const x = Float32Array.from([NaN, NaN, NaN, Infinity, Infinity, Infinity, NaN, 0.5, -0.5, Infinity, 0.5, -0.5]);
    const p = predictMargin(m, x, 4);
    expect(p[0]).toBe(p[1]);
    expect(p[2]).toBe(p[3]);
  });

  it('rejects bad data with MODEL_INVALID and bad parameters with RangeError', () => {
    const d = xorData(100, 0, 1);
    const bad = (data: Partial<GbdtData> & Record<string, unknown>, valid?: GbdtData) => {
      try {
        trainGbdt({ ...d, ...data } as GbdtData, { nTrees: 1 }, valid);
      } catch (e) {
        expect(e).toBeInstanceOf(PaydecideError);
        expect((e as PaydecideError).code).toBe(ErrorCodes.MODEL_INVALID);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad({ x: new Float64Array(200) as unknown as Float32Array })).toMatch(/Float32Array/);
    expect(bad({ n: 99 })).toMatch(/expected n × f = 99 × 2/);
    expect(bad({ n: 0 })).toMatch(/n must be an integer ≥ 1/);
    expect(bad({ y: new Uint8Array(99) })).toMatch(/99 labels, expected 100/);
    expect(bad({ y: Array.from({ length: 100 }, (_, i) => (i === 5 ? 2 : 0)) })).toMatch(/y\[5\] is 2/);
    expect(bad({ y: Array.from({ length: 100 }, (_, i) => (i === 7 ? NaN : 1)) })).toMatch(/y\[7\] is NaN/);
    expect(bad({ weights: new Float64Array(100).fill(-1) })).toMatch(/weights\[0\] is -1/);
    expect(bad({ weights: Float64Array.from({ length: 100 }, (_, i) => (i === 3 ? Infinity : 1)) })).toMatch(/weights\[3\] is Infinity/);
    expect(bad({ weights: new Float64Array(100) })).toMatch(/sum to 0/);
    expect(bad({ weights: new Float64Array(3) })).toMatch(/3 values, expected 100/);
    expect(bad({}, { x: new Float32Array(30), y: new Uint8Array(10), n: 10, f: 3 })).toMatch(/valid has 3 features, the training set 2/);
    for (const p of [{ nTrees: 0 }, { maxBins: 300 }, { maxBins: 1 }, { subsample: 0 }, { colsample: 1.5 }, { learningRate: -1 }, { maxDepth: 2.5 }, { lambda: NaN }, { maxLeaves: 1 }, { threads: 0 }]) {
      expect(() => trainGbdt(d, p)).toThrow(RangeError);
    }
    const m = trainGbdt(d, { nTrees: 2 });
    expect(() => predictMargin(m, new Float32Array(5), 2)).toThrow(/expected 2 rows × 2 features/);
  });
});
