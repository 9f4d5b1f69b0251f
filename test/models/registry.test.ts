import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import {
  appendHistory,
  CURRENT_FILE,
  exportLinearSigmoidOnnx,
  HISTORY_FILE,
  listModels,
  loadCurrent,
  OnnxScorer,
  parseManifest,
  promoteModel,
  readHistory,
  readManifest,
  rollbackModel,
  saveModel,
  setCurrent,
  sha256Hex,
  upliftOutputs,
  type ModelManifest,
} from '../../models';

const FEATURES = ['f_a', 'f_b', 'f_c'];

function tinyModel(version: string): Uint8Array {
  const H = ACTIONS.length;
  const weights = new Float32Array(FEATURES.length * H).map((_, i) => (i % 7) / 10 - 0.3);
  const bias = new Float32Array(H).map((_, h) => -1 - h / 10);
  return exportLinearSigmoidOnnx({ featureCount: FEATURES.length, heads: [...ACTIONS], weights, bias }, { modelVersion: version, featureSetHash: 'fs1' });
}

function manifestFor(version: string, bytes: Uint8Array, createdAt = '2026-01-02T03:04:05Z'): ModelManifest {
  const per = Object.fromEntries(ACTIONS.map((a) => [a, 10]));
  return {
    version,
    kind: 'baseline-lr',
    created_at: createdAt,
    actions: [...ACTIONS],
    features: FEATURES,
    feature_set_hash: 'fs1',
    training: { as_of: '2026-01-01', window_start: '2025-12-01', window_end: '2025-12-31', rows: 1000, positives_per_action: per, data_hash: 'd1' },
    metrics: Object.fromEntries(ACTIONS.map((a) => [a, { auc: 0.7, logloss: 0.4, ece: 0.01, rows: 1000, positives: 10 }])),
    onnx_sha256: sha256Hex(bytes),
  };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(() => null, (err) => err);
  expect(e).toBeInstanceOf(PaydecideError);
  return e as PaydecideError;
}

describe('model registry', () => {
  let dir: string;
  beforeEach(async () => {
    dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pd-registry-')), 'models');
  });
  afterEach(async () => {
    await fs.rm(path.dirname(dir), { recursive: true, force: true });
  });

  it('saves, sets current and loads back the same manifest and bytes, which ORT can score', async () => {
    const bytes = tinyModel('v1');
    const m = manifestFor('v1', bytes);
    await saveModel(dir, m, bytes);
    await setCurrent(dir, 'v1');
    const loaded = await loadCurrent(dir);
    expect(loaded.manifest).toEqual(m);
    expect(Buffer.from(loaded.onnxBytes).equals(Buffer.from(bytes))).toBe(true);
    expect(loaded.path).toBe(path.join(dir, 'v1', 'model.onnx'));
    expect(await readManifest(dir, 'v1')).toEqual(m);
    for (const src of [loaded.path, loaded.onnxBytes]) {
      const scorer = await OnnxScorer.load(src, { threads: 1 });
      expect([scorer.inputWidth, scorer.outputWidth]).toEqual([FEATURES.length, ACTIONS.length]);
      await scorer.close();
    }
  });

  it('lists versions oldest first with the current flag, ignoring temp folders', async () => {
    for (const [v, t] of [['v2', '2026-01-03T00:00:00Z'], ['v1', '2026-01-02T00:00:00Z']] as const) {
      const b = tinyModel(v);
      await saveModel(dir, manifestFor(v, b, t), b);
    }
    await fs.mkdir(path.join(dir, '.tmp-v3-123-abc'));
    await setCurrent(dir, 'v2');
    const list = await listModels(dir);
    expect(list.map((l) => [l.version, l.current])).toEqual([['v1', false], ['v2', true]]);
    expect(await listModels(path.join(dir, 'nope'))).toEqual([]);
  });

  it('refuses to overwrite an existing version and leaves it untouched', async () => {
    const b1 = tinyModel('v1');
    await saveModel(dir, manifestFor('v1', b1), b1);
    const b2 = tinyModel('v1-other');
    const e = await codeOf(saveModel(dir, manifestFor('v1', b2), b2));
    expect(e.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(e.message).toMatch(/already exists/);
    expect(sha256Hex(await fs.readFile(path.join(dir, 'v1', 'model.onnx')))).toBe(sha256Hex(b1));
    expect((await fs.readdir(dir)).sort()).toEqual(['v1']);
  });

  it('refuses a manifest whose hash does not match the bytes, or that misses an action', async () => {
    const b = tinyModel('v1');
    const bad = { ...manifestFor('v1', b), onnx_sha256: sha256Hex(new Uint8Array([1])) };
    expect((await codeOf(saveModel(dir, bad, b))).message).toMatch(/does not match/);
    const m = manifestFor('v1', b);
    delete (m.metrics as Record<string, unknown>).none;
    const e = await codeOf(saveModel(dir, m, b));
    expect(e.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(e.message).toMatch(/metrics\.none: missing metrics/);
  });

  it('NO_MODEL when there is no registry, no CURRENT, or an unknown version', async () => {
    expect((await codeOf(loadCurrent(dir))).code).toBe(ErrorCodes.NO_MODEL);
    const b = tinyModel('v1');
    await saveModel(dir, manifestFor('v1', b), b);
    expect((await codeOf(loadCurrent(dir))).code).toBe(ErrorCodes.NO_MODEL);
    expect((await codeOf(setCurrent(dir, 'v9'))).code).toBe(ErrorCodes.NO_MODEL);
    expect((await codeOf(readManifest(dir, 'v9'))).code).toBe(ErrorCodes.NO_MODEL);
    expect((await codeOf(readManifest(dir, '../etc'))).code).toBe(ErrorCodes.MODEL_INVALID);
  });

  it('MODEL_INVALID naming the file when the onnx bytes or the manifest are corrupt', async () => {
    const b = tinyModel('v1');
    await saveModel(dir, manifestFor('v1', b), b);
    await setCurrent(dir, 'v1');
    const file = path.join(dir, 'v1', 'model.onnx');
    const corrupt = Buffer.from(b);
    corrupt[corrupt.length - 5] ^= 0xff;
    await fs.writeFile(file, corrupt);
    const e = await codeOf(loadCurrent(dir));
    expect(e.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/corrupt: sha256/);

    await fs.writeFile(file, b);
    const mf = path.join(dir, 'v1', 'manifest.json');
    await fs.writeFile(mf, '{"version": "v1"');
    const e2 = await codeOf(loadCurrent(dir));
    expect(e2.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(e2.message).toContain(mf);
  });

  it('MODEL_INVALID when CURRENT points to a missing version or holds junk', async () => {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, CURRENT_FILE), 'v7\n');
    const e = await codeOf(loadCurrent(dir));
    expect(e.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(e.message).toMatch(/points to version v7, which is missing/);
    await fs.writeFile(path.join(dir, CURRENT_FILE), '../../x');
    expect((await codeOf(loadCurrent(dir))).code).toBe(ErrorCodes.MODEL_INVALID);
  });

  it('switches CURRENT atomically: concurrent readers always see a whole, valid version', async () => {
    for (const v of ['v1', 'v2']) {
      const b = tinyModel(v);
      await saveModel(dir, manifestFor(v, b), b);
    }
    await setCurrent(dir, 'v1');
    let stop = false;
    const seen = new Set<string>();
    const reader = (async () => {
      let reads = 0;
      while (!stop || reads === 0) {
        const l = await loadCurrent(dir);
        expect(sha256Hex(l.onnxBytes)).toBe(l.manifest.onnx_sha256);
        seen.add(l.manifest.version);
        reads++;
      }
      return reads;
    })();
    for (let k = 0; k < 40; k++) await setCurrent(dir, k % 2 ? 'v1' : 'v2');
    stop = true;
    expect(await reader).toBeGreaterThan(0);
    expect([...seen].every((v) => v === 'v1' || v === 'v2')).toBe(true);
    expect((await fs.readFile(path.join(dir, CURRENT_FILE), 'utf8')).trim()).toBe('v1');
    expect((await fs.readdir(dir)).sort()).toEqual([CURRENT_FILE, 'v1', 'v2']);
  });
});

describe('model registry: manifest v2 fields and the promotion history', () => {
  let dir: string;
  beforeEach(async () => {
    dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pd-registry2-')), 'models');
  });
  afterEach(async () => {
    await fs.rm(path.dirname(dir), { recursive: true, force: true });
  });

  function upliftManifest(version: string, bytes: Uint8Array): ModelManifest {
    const base = manifestFor(version, bytes);
    return {
      ...base,
      kind: 'gbdt-uplift',
      outputs: upliftOutputs(ACTIONS),
      metrics: Object.fromEntries(ACTIONS.map((a) => [a, { auc: 0.7, logloss: 0.4, ece: 0.01, rows: 1000, positives: 10, auuc: -0.012, qini: 0.03, calibration: 'isotonic' as const }])),
      training: {
        ...base.training,
        label_windows_s: { cashback: 604800, referral_prompt: 1209600 },
        train_rows: 700,
        valid_rows: 150,
        test_rows: 150,
        test_window: { start: '2025-12-25', end: '2025-12-31' },
      },
    };
  }

  it('keeps old baseline manifests valid and round-trips the new gbdt-uplift fields', async () => {
    const b1 = tinyModel('v1');
    const old = manifestFor('v1', b1);
    expect(parseManifest(JSON.parse(JSON.stringify(old)))).toEqual(old);
    const b2 = tinyModel('u1');
    const u = upliftManifest('u1', b2);
    expect(u.outputs).toEqual([
      'uptake_cashback', 'uptake_referral_prompt', 'uptake_autopay_setup', 'uptake_card_on_file', 'uptake_installment_offer',
      'base_cashback', 'base_referral_prompt', 'base_autopay_setup', 'base_card_on_file', 'base_installment_offer',
    ]);
    await saveModel(dir, u, b2);
    expect(await readManifest(dir, 'u1')).toEqual(u);
  });

  it('MODEL_INVALID for a gbdt-uplift without (or with misordered) outputs, or a baseline whose outputs are not its actions', () => {
    const b = tinyModel('u1');
    const u = upliftManifest('u1', b);
    expect(() => parseManifest({ ...u, outputs: undefined })).toThrow(/outputs: required for gbdt-uplift/);
    expect(() => parseManifest({ ...u, outputs: [...u.outputs!].reverse() })).toThrow(/outputs: must be uptake_cashback/);
    expect(() => parseManifest({ ...manifestFor('v1', b), outputs: ['a'] })).toThrow(/outputs: a baseline-lr model has one output per action/);
    expect(() => parseManifest({ ...u, kind: 'xgb' })).toThrow(/kind/);
    expect(() => parseManifest({ ...u, metrics: { ...u.metrics, cashback: { ...u.metrics.cashback, calibration: 'magic' } } })).toThrow(/metrics\.cashback\.calibration/);
  });

  it('appends history lines with O_APPEND, reads them back, and survives a torn last line', async () => {
    expect(await readHistory(dir)).toEqual([]);
    await appendHistory(dir, { event: 'promote', version: 'v1', previous: null, ts: '2026-01-01T00:00:00.000Z' });
    await fs.appendFile(path.join(dir, HISTORY_FILE), '{"ts":"2026-01-0'); // a crash mid-append
    await appendHistory(dir, { event: 'refused', version: 'v2', previous: 'v1', reason: 'cashback: AUC worse', forced: true });
    const h = await readHistory(dir);
    expect(h.map((e) => [e.event, e.version, e.previous])).toEqual([['promote', 'v1', null], ['refused', 'v2', 'v1']]);
    expect(h[1]).toMatchObject({ reason: 'cashback: AUC worse', forced: true });
    expect(Date.parse(h[1].ts)).toBeGreaterThan(0);
    await fs.appendFile(path.join(dir, HISTORY_FILE), '{"ts":"2026-01-01T00:00:00Z","event":"launch","version":"v3","previous":null}\n');
    const e = await codeOf(readHistory(dir));
    expect(e.code).toBe(ErrorCodes.MODEL_INVALID);
    expect(e.message).toMatch(/HISTORY\.jsonl line 4 is invalid: event/);
  });

  it('lists both models after a promote and a rollback, and HISTORY records each move', async () => {
    for (const [v, t] of [['v1', '2026-01-02T00:00:00Z'], ['v2', '2026-01-03T00:00:00Z']] as const) {
      const b = tinyModel(v);
      await saveModel(dir, manifestFor(v, b, t), b);
    }
    await promoteModel(dir, 'v1');
    await promoteModel(dir, 'v2');
    expect((await listModels(dir)).map((l) => [l.version, l.current])).toEqual([['v1', false], ['v2', true]]);
    expect(await rollbackModel(dir)).toEqual({ from: 'v2', to: 'v1', skipped: [] });
    expect((await listModels(dir)).map((l) => [l.version, l.current])).toEqual([['v1', true], ['v2', false]]);
    expect((await readHistory(dir)).map((e) => [e.event, e.version, e.previous])).toEqual([
      ['promote', 'v1', null],
      ['promote', 'v2', 'v1'],
      ['rollback', 'v1', 'v2'],
    ]);
    expect((await fs.readdir(dir)).sort()).toEqual([CURRENT_FILE, HISTORY_FILE, 'v1', 'v2']);
  });
});
