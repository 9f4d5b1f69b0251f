import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { predictMargin, trainGbdt, type GbdtModel } from '../../models/gbdt';
import { META, readOnnxMetadata } from '../../models/onnx-export';
import { OnnxScorer } from '../../models/onnx-scorer';
import { exportTreeEnsembleOnnx, predictTargets, type TreeTarget } from '../../models/onnx-tree-export';
import { makeSynthetic, rng, rowsOf } from './synthetic';

const F = 12;
const TRAIN = 8000;
const VALID = 2000;
const TEST = 3000;

/**
 * Features on coarse grids (every third column integer-valued), so thresholds are values that
 * many test rows hold exactly: ties must route the same way (right) in both implementations.
 */
function data() {
  const s = makeSynthetic(TRAIN + VALID + TEST, F, 3, 21, { scales: [1, 3, 0.5] });
  for (let i = 0; i < s.X.length; i++) if ((i % F) % 3 === 0) s.X[i] = Math.round(s.X[i]);
  for (let i = 0; i < s.X.length; i++) if ((i % F) % 3 === 1) s.X[i] = Math.round(s.X[i] * 4) / 4;
  return s;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('GBDT ONNX export ↔ trainer parity', () => {
  const s = data();
  const train = rowsOf(s, 0, TRAIN);
  const valid = rowsOf(s, TRAIN, TRAIN + VALID);
  const test = rowsOf(s, TRAIN + VALID, TRAIN + VALID + TEST);
  let targets: TreeTarget[];
  let bytes: Uint8Array;
  let scorer: OnnxScorer;

  beforeAll(async () => {
    const fit = (h: number, extra: object): GbdtModel =>
      trainGbdt({ x: train.X, y: train.labels[h], n: train.n, f: F }, { nTrees: 60, ...extra }, { x: valid.X, y: valid.labels[h], n: valid.n, f: F });
    targets = [
      { model: fit(0, { maxDepth: 6, earlyStoppingRounds: 0 }), platt: { a: 0.8, b: -0.2 } },
      { model: fit(1, { maxDepth: 4, learningRate: 0.5, earlyStoppingRounds: 5, subsample: 0.8, colsample: 0.7 }), platt: { a: 1.3, b: 0.4 } },
      { model: fit(2, { maxDepth: 3, maxLeaves: 5 }) },
    ];
    bytes = exportTreeEnsembleOnnx(targets, { modelVersion: 'v-tree', featureSetHash: 'fs123', outputNames: ['a', 'b', 'c'], metadata: { note: 'x' } });
    scorer = await OnnxScorer.load(bytes, { threads: 2 });
  });
  afterAll(async () => {
    await scorer?.close();
  });

  it('the early-stopped target really stopped early', () => {
    expect(targets[1].model.trees.length).toBeLessThan(60);
    expect(targets[1].model.trees.length).toBe(targets[1].model.bestIteration + 1);
    expect(targets[0].model.trees.length).toBe(60);
  });

  it('ONNX Runtime scores equal predictTargets to 1e-5 on every test row and target (Platt applied)', async () => {
    expect(scorer.inputWidth).toBe(F);
    expect(scorer.outputWidth).toBe(3);
    const ort = await scorer.score(test.X, test.n);
    const own = predictTargets(targets, test.X, test.n);
    expect(maxDiff(ort, own)).toBeLessThan(1e-5);
    // and predictTargets is sigmoid(a·margin + b) of the trainer's own margins
    const m = predictMargin(targets[1].model, test.X, test.n);
    for (let i = 0; i < 50; i++) expect(own[i * 3 + 1]).toBeCloseTo(1 / (1 + Math.exp(-(1.3 * m[i] + 0.4))), 6);
  });

  it('a row whose value equals a threshold exactly goes right in both; NaN and ±Infinity route alike', async () => {
    const rows: number[] = [];
    const r = rng(4);
    for (const t of targets) {
      for (const tree of t.model.trees.slice(0, 10)) {
        for (let node = 0; node < tree.left.length; node++) {
          if (tree.left[node] < 0) continue;
          const i = Math.floor(r() * test.n);
          const row = Array.from(test.X.subarray(i * F, (i + 1) * F));
          row[tree.feature[node]] = tree.threshold[node];
          rows.push(...row);
          row[tree.feature[node]] = Math.fround(tree.threshold[node] - Math.abs(tree.threshold[node]) * 1e-7 - 1e-30); // just below
          rows.push(...row);
        }
      }
    }
    for (const v of [NaN, Infinity, -Infinity]) {
      for (let j = 0; j < F; j++) {
        const row = Array.from(test.X.subarray(j * F, (j + 1) * F));
        row[j] = v;
        rows.push(...row);
      }
    }
    rows.push(...new Array(F).fill(NaN));
    const x = Float32Array.from(rows);
    const n = x.length / F;
    expect(n).toBeGreaterThan(200);
    expect(maxDiff(await scorer.score(x, n), predictTargets(targets, x, n))).toBeLessThan(1e-5);
  });

  it('writes kind, version, feature-set hash, output names and feature count into metadata_props', () => {
    const meta = readOnnxMetadata(bytes);
    expect(meta[META.kind]).toBe('tree-ensemble');
    expect(meta[META.modelVersion]).toBe('v-tree');
    expect(meta[META.featureSetHash]).toBe('fs123');
    expect(meta[META.heads]).toBe('a,b,c');
    expect(meta[META.featureCount]).toBe(String(F));
    expect(meta.note).toBe('x');
  });

  it('exports a model whose trees are single leaves (no split gains enough): the score is sigmoid(base score)', async () => {
    const model = trainGbdt({ x: train.X, y: train.labels[0], n: train.n, f: F }, { nTrees: 3, gamma: 1e9 });
    expect(model.trees.every((t) => t.left.length === 1)).toBe(true);
    const s1 = await OnnxScorer.load(exportTreeEnsembleOnnx([{ model }], { modelVersion: 'v', featureSetHash: 'h', outputNames: ['p'] }));
    try {
      const out = await s1.score(test.X.subarray(0, 5 * F), 5);
      for (const v of out) expect(v).toBeCloseTo(1 / (1 + Math.exp(-model.baseScore)), 6);
    } finally {
      await s1.close();
    }
  });

  it('refuses targets with different feature counts or a wrong number of output names (MODEL_INVALID)', () => {
    const other = trainGbdt({ x: train.X.subarray(0, 100 * 6), y: train.labels[0].subarray(0, 100), n: 100, f: 6 }, { nTrees: 1 });
    const e1 = (() => {
      try {
        exportTreeEnsembleOnnx([targets[0], { model: other }], { modelVersion: 'v', featureSetHash: 'h', outputNames: ['a', 'b'] });
      } catch (e) {
        return e;
      }
    })();
    expect(e1).toBeInstanceOf(PaydecideError);
    expect((e1 as PaydecideError).code).toBe(ErrorCodes.MODEL_INVALID);
    expect((e1 as Error).message).toMatch(/target 1 has 6 features, target 0 has 12/);
    expect(() => exportTreeEnsembleOnnx(targets, { modelVersion: 'v', featureSetHash: 'h', outputNames: ['a'] })).toThrow(/1 output names for 3 targets/);
    expect(() => exportTreeEnsembleOnnx([{ model: targets[0].model, platt: { a: NaN, b: 0 } }], { modelVersion: 'v', featureSetHash: 'h', outputNames: ['a'] })).toThrow(
      /non-finite Platt/,
    );
  });
});
