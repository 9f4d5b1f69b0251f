import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import {
  exportLinearSigmoidOnnx,
  META,
  OnnxScorer,
  predict,
  readOnnxMetadata,
  stackHeads,
  trainLogisticHeads,
  type LogisticModel,
} from '../../models';
import { makeSynthetic, rowsOf } from './synthetic';

const F = 50;
const TRAIN = 20_000;
const TEST = 5_000;
const H = ACTIONS.length;

describe('ONNX export ↔ trainer parity', () => {
  const data = makeSynthetic(TRAIN + TEST, F, H, 42);
  const train = rowsOf(data, 0, TRAIN);
  const test = rowsOf(data, TRAIN, TRAIN + TEST);
  let models: LogisticModel[];
  let bytes: Uint8Array;
  let scorer: OnnxScorer;

  beforeAll(async () => {
    models = trainLogisticHeads(train.X, train.labels, F, { l2: 1e-3 });
    bytes = exportLinearSigmoidOnnx(stackHeads(models, ACTIONS), { modelVersion: 'v-test', featureSetHash: 'abc123' });
    scorer = await OnnxScorer.load(bytes, { threads: 2 });
  });
  afterAll(async () => {
    await scorer?.close();
  });

  it('every head converged', () => {
    for (const m of models) expect(m.info.converged).toBe(true);
  });

  it('ONNX Runtime scores equal the trainer predictions to 1e-5 on every test row and head', async () => {
    expect(scorer.inputWidth).toBe(F);
    expect(scorer.outputWidth).toBe(H);
    const ort = await scorer.score(test.X, test.n);
    expect(ort.length).toBe(test.n * H);
    let maxDiff = 0;
    for (let h = 0; h < H; h++) {
      const own = predict(models[h], test.X, test.n);
      for (let i = 0; i < test.n; i++) maxDiff = Math.max(maxDiff, Math.abs(ort[i * H + h] - own[i]));
    }
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('scores a sub-view of a larger buffer and a batch of one row the same way', async () => {
    const all = await scorer.score(test.X, test.n);
    const slice = await scorer.score(test.X.subarray(100 * F, 300 * F), 200);
    expect(Array.from(slice)).toEqual(Array.from(all.subarray(100 * H, 300 * H)));
    const one = await scorer.score(test.X.slice(7 * F, 8 * F), 1);
    for (let h = 0; h < H; h++) expect(Math.abs(one[h] - all[7 * H + h])).toBeLessThan(1e-6);
    expect((await scorer.score(new Float32Array(0), 0)).length).toBe(0);
  });

  it('loads from a byte view that does not start at offset 0 of its buffer', async () => {
    const padded = new Uint8Array(bytes.length + 13);
    padded.set(bytes, 13);
    const s2 = await OnnxScorer.load(padded.subarray(13), { threads: 1 });
    try {
      const a = await s2.score(test.X.subarray(0, 10 * F), 10);
      const b = await scorer.score(test.X.subarray(0, 10 * F), 10);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
    } finally {
      await s2.close();
    }
  });

  it('carries version, feature-set hash and head order in metadata_props', () => {
    const meta = readOnnxMetadata(bytes);
    expect(meta[META.modelVersion]).toBe('v-test');
    expect(meta[META.featureSetHash]).toBe('abc123');
    expect(meta[META.heads]).toBe(ACTIONS.join(','));
    expect(meta[META.featureCount]).toBe(String(F));
  });

  it('rejects input of the wrong length with MODEL_INVALID', async () => {
    const err = await scorer.score(new Float32Array(F * 2 - 1), 2).catch((e) => e);
    expect(err).toBeInstanceOf(PaydecideError);
    expect(err.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(err.message).toMatch(/expected 2 rows × 50 features = 100/);
  });

  it('refuses bytes that are not a model with MODEL_INVALID, and a missing file with NO_MODEL', async () => {
    const junk = bytes.slice(0, 40);
    const e1 = await OnnxScorer.load(junk).catch((e) => e);
    expect(e1).toBeInstanceOf(PaydecideError);
    expect(e1.code).toBe(ErrorCodes.MODEL_INVALID);
    const e2 = await OnnxScorer.load('/nonexistent/paydecide/model.onnx').catch((e) => e);
    expect(e2.code).toBe(ErrorCodes.NO_MODEL);
    expect(e2.message).toContain('/nonexistent/paydecide/model.onnx');
  });

  it('with ill-conditioned features (|mean|/std up to 5000) ORT stays within float32 rounding of Σ|w·x| + |b|', async () => {
    // Folding the standardisation into raw-space float32 weights makes large terms cancel against
    // the bias; ORT then differs from the float64-accumulated prediction by ~eps32 · Σ|w·x|.
    const f = 20;
    const bad = makeSynthetic(7000, f, H, 9, { offsetRange: 100, scales: [0.01, 1, 3, 50] });
    const tr = rowsOf(bad, 0, 5000);
    const te = rowsOf(bad, 5000, 7000);
    const ms = trainLogisticHeads(tr.X, tr.labels, f, { l2: 1e-3 });
    const s = await OnnxScorer.load(exportLinearSigmoidOnnx(stackHeads(ms, ACTIONS), { modelVersion: 'v', featureSetHash: 'h' }), { threads: 1 });
    try {
      const ort = await s.score(te.X, te.n);
      let worst = 0;
      for (let h = 0; h < H; h++) {
        const own = predict(ms[h], te.X, te.n);
        for (let i = 0; i < te.n; i++) {
          let mag = Math.abs(ms[h].bias);
          for (let j = 0; j < f; j++) mag += Math.abs(ms[h].weights[j] * te.X[i * f + j]);
          worst = Math.max(worst, Math.abs(ort[i * H + h] - own[i]) / (mag * 2 ** -24));
        }
      }
      expect(worst).toBeLessThan(4);
    } finally {
      await s.close();
    }
  });
});
