import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { loadConfig } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import {
  comparePromotion,
  DEFAULT_PROMOTION_TOLERANCE,
  exportLinearSigmoidOnnx,
  HISTORY_FILE,
  promoteModel,
  readCurrent,
  readHistory,
  rollbackCandidates,
  rollbackModel,
  saveModel,
  setCurrent,
  sha256Hex,
  upliftOutputs,
  type HeadMetrics,
  type ModelManifest,
} from '../../models';

const FEATURES = ['f_a', 'f_b', 'f_c'];
const TOL = DEFAULT_PROMOTION_TOLERANCE;

function bytesFor(version: string, features = FEATURES): Uint8Array {
  const H = ACTIONS.length;
  const weights = new Float32Array(features.length * H).map((_, i) => (i % 5) / 10 - 0.2);
  return exportLinearSigmoidOnnx({ featureCount: features.length, heads: [...ACTIONS], weights, bias: new Float32Array(H).fill(-1) }, { modelVersion: version, featureSetHash: 'fs1' });
}

interface Opts {
  metrics?: Partial<Record<string, Partial<HeadMetrics>>>;
  features?: string[];
  featureSetHash?: string;
  kind?: ModelManifest['kind'];
  createdAt?: string;
}

/** A manifest (with its ONNX bytes) whose every head has AUC 0.640, AUUC 0.040, ECE 0.010 unless overridden. */
function model(version: string, o: Opts = {}): { manifest: ModelManifest; bytes: Uint8Array } {
  const features = o.features ?? FEATURES;
  const bytes = bytesFor(version, features);
  const kind = o.kind ?? 'baseline-lr';
  const manifest: ModelManifest = {
    version,
    kind,
    ...(kind === 'gbdt-uplift' ? { outputs: upliftOutputs(ACTIONS) } : {}),
    created_at: o.createdAt ?? '2026-01-02T03:04:05Z',
    actions: [...ACTIONS],
    features,
    feature_set_hash: o.featureSetHash ?? 'fs1',
    training: { as_of: '2026-01-01', window_start: '2025-12-01', window_end: '2025-12-31', rows: 1000, positives_per_action: Object.fromEntries(ACTIONS.map((a) => [a, 10])), data_hash: 'd1' },
    metrics: Object.fromEntries(ACTIONS.map((a) => [a, { auc: 0.64, logloss: 0.4, ece: 0.01, rows: 1000, positives: 10, auuc: 0.04, ...o.metrics?.[a] }])),
    onnx_sha256: sha256Hex(bytes),
  };
  return { manifest, bytes };
}
const m = (version: string, o: Opts = {}) => model(version, o).manifest;

async function refusal(p: Promise<unknown>): Promise<PaydecideError> {
  const e = await p.then(() => null, (err) => err);
  expect(e).toBeInstanceOf(PaydecideError);
  return e as PaydecideError;
}

describe('comparePromotion (pure)', () => {
  it('the first model is always ok', () => {
    expect(comparePromotion(m('v1', { metrics: { cashback: { auc: 0.1, ece: 0.9 } } }), null, TOL)).toEqual({ ok: true, reasons: [], blocking: [], deltas: [] });
  });

  it('refuses a worse AUC, naming the action and both figures', () => {
    const v = comparePromotion(m('v2', { metrics: { cashback: { auc: 0.612 } } }), m('v1'), TOL);
    expect(v.ok).toBe(false);
    expect(v.reasons).toEqual(['cashback: AUC 0.612 < live 0.640 − 0.005']);
    expect(v.blocking).toEqual([]);
    const d = v.deltas.find((x) => x.action === 'cashback')!;
    expect(d.auc_delta).toBeCloseTo(-0.028, 9);
    expect(d.auuc_delta).toBeCloseTo(0, 9);
    expect(d.uplift_metric).toBe('auuc');
  });

  it('refuses a worse AUUC (uplift may be negative), and falls back to Qini when AUUC is missing', () => {
    const v = comparePromotion(m('v2', { metrics: { referral_prompt: { auuc: -0.01 } } }), m('v1'), TOL);
    expect(v.reasons).toEqual(['referral_prompt: AUUC -0.0100 < live 0.0400 − 0.002']);
    const q = comparePromotion(m('v2', { metrics: { cashback: { auuc: undefined, qini: 0.05 } } }), m('v1', { metrics: { cashback: { auuc: undefined, qini: 0.06 } } }), TOL);
    expect(q.reasons).toEqual(['cashback: Qini 0.0500 < live 0.0600 − 0.002']);
    expect(q.deltas[0]).toMatchObject({ action: 'cashback', uplift_metric: 'qini' });
    const missing = comparePromotion(m('v2', { metrics: { cashback: { auuc: undefined } } }), m('v1'), TOL);
    expect(missing.reasons).toEqual(['cashback: the candidate has no AUUC to compare with live 0.0400']);
  });

  it('refuses a worse ECE', () => {
    const v = comparePromotion(m('v2', { metrics: { autopay_setup: { ece: 0.02 } } }), m('v1'), TOL);
    expect(v.reasons).toEqual(['autopay_setup: ECE 0.0200 > live 0.0100 + 0.005']);
    expect(v.deltas.find((x) => x.action === 'autopay_setup')!.ece_delta).toBeCloseTo(0.01, 9);
  });

  it('lists every failing check of every action', () => {
    const v = comparePromotion(m('v2', { metrics: { cashback: { auc: 0.6, ece: 0.03 }, none: { auuc: 0 } } }), m('v1'), TOL);
    expect(v.reasons).toEqual(['cashback: AUC 0.600 < live 0.640 − 0.005', 'cashback: ECE 0.0300 > live 0.0100 + 0.005', 'none: AUUC 0.0000 < live 0.0400 − 0.002']);
  });

  it('accepts a candidate within tolerance, up to the exact edge, and a better one', () => {
    const edge = comparePromotion(m('v2', { metrics: { cashback: { auc: 0.635, auuc: 0.038, ece: 0.015 } } }), m('v1'), TOL);
    expect(edge).toMatchObject({ ok: true, reasons: [], blocking: [] });
    expect(edge.deltas).toHaveLength(ACTIONS.length);
    expect(comparePromotion(m('v2', { metrics: { cashback: { auc: 0.7, auuc: 0.1, ece: 0.001 } } }), m('v1'), TOL).ok).toBe(true);
    expect(comparePromotion(m('v2', { metrics: { cashback: { auc: 0.6349 } } }), m('v1'), TOL).ok).toBe(false);
    // Looser tolerances let the same candidate through.
    expect(comparePromotion(m('v2', { metrics: { cashback: { auc: 0.612 } } }), m('v1'), { ...TOL, auc: 0.05 }).ok).toBe(true);
  });

  it('refuses a different feature list (order included) or feature set as blocking', () => {
    const order = comparePromotion(m('v2', { features: ['f_b', 'f_a', 'f_c'] }), m('v1'), TOL);
    expect(order.ok).toBe(false);
    expect(order.blocking).toEqual(['feature list differs from live v1: 3 vs 3 features, first difference at position 0: f_b vs live f_a']);
    const extra = comparePromotion(m('v2', { features: [...FEATURES, 'f_d'] }), m('v1'), TOL);
    expect(extra.blocking).toEqual(['feature list differs from live v1: 4 vs 3 features, first difference at position 3: f_d vs live (none)']);
    const hash = comparePromotion(m('v2', { featureSetHash: 'fs2' }), m('v1'), TOL);
    expect(hash.blocking).toEqual(["feature set fs2 differs from live v1's fs1"]);
    expect(hash.reasons).toEqual(hash.blocking);
  });

  it('refuses a different kind or output columns, but not as blocking', () => {
    const v = comparePromotion(m('v2', { kind: 'gbdt-uplift' }), m('v1'), TOL);
    expect(v.blocking).toEqual([]);
    expect(v.reasons[0]).toBe("kind gbdt-uplift differs from live v1's baseline-lr");
    expect(v.reasons[1]).toMatch(/^output columns differ from live v1: 10 vs 6 columns, first difference at position 0: uptake_cashback vs live cashback/);
  });

  it('refuses a candidate whose AUC is not measurable where live has one', () => {
    const v = comparePromotion(m('v2', { metrics: { cashback: { auc: null } } }), m('v1'), TOL);
    expect(v.reasons).toEqual(["cashback: AUC not measurable on the candidate's evaluation rows (one class missing), live 0.640"]);
    expect(v.deltas[0].auc_delta).toBeNull();
  });
});

describe('promotion tolerances from config', () => {
  it('defaults, overrides and bounds', () => {
    expect(loadConfig({}).promotion).toEqual({ auc: 0.005, auuc: 0.002, ece: 0.005 });
    const c = loadConfig({ PAYDECIDE_PROMOTE_TOL_AUC: '0.01', PAYDECIDE_PROMOTE_TOL_AUUC: '0', PAYDECIDE_PROMOTE_TOL_ECE: '0.02' });
    expect(c.promotion).toEqual({ auc: 0.01, auuc: 0, ece: 0.02 });
    expect(Object.isFrozen(c.promotion)).toBe(true);
    expect(() => loadConfig({ PAYDECIDE_PROMOTE_TOL_AUC: '-0.1' })).toThrow(/PAYDECIDE_PROMOTE_TOL_AUC/);
    expect(() => loadConfig({ PAYDECIDE_PROMOTE_TOL_ECE: 'lots' })).toThrow(/PAYDECIDE_PROMOTE_TOL_ECE/);
  });
});

describe('promoteModel / rollbackModel over a registry', () => {
  let dir: string;
  beforeEach(async () => {
    dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'pd-promote-')), 'models');
  });
  afterEach(async () => {
    await fs.rm(path.dirname(dir), { recursive: true, force: true });
  });
  const save = async (version: string, o: Opts = {}) => {
    const { manifest, bytes } = model(version, o);
    await saveModel(dir, manifest, bytes);
  };
  const events = async () => (await readHistory(dir)).map((e) => [e.event, e.version, e.previous]);

  it('promotes the first model, then a better one; re-promoting the current one changes nothing', async () => {
    await save('v1');
    await save('v2', { metrics: { cashback: { auc: 0.7 } } });
    expect(await promoteModel(dir, 'v1', TOL)).toMatchObject({ promoted: true, previous: null, forced: false, verdict: { ok: true } });
    const r = await promoteModel(dir, 'v2', TOL);
    expect(r).toMatchObject({ promoted: true, previous: 'v1', forced: false });
    expect(r.verdict.deltas.find((d) => d.action === 'cashback')!.auc_delta).toBeCloseTo(0.06, 9);
    expect(await promoteModel(dir, 'v2', TOL)).toMatchObject({ promoted: false, previous: 'v2' });
    expect(await readCurrent(dir)).toBe('v2');
    expect(await events()).toEqual([['promote', 'v1', null], ['promote', 'v2', 'v1']]);
  });

  it('refuses a worse model with PROMOTION_REFUSED (exit 2) listing the reasons, logs it, and leaves CURRENT', async () => {
    await save('v1');
    await save('v2', { metrics: { cashback: { auc: 0.612 }, card_on_file: { ece: 0.03 } } });
    await promoteModel(dir, 'v1', TOL);
    const e = await refusal(promoteModel(dir, 'v2', TOL));
    expect(e.code).toBe(ErrorCodes.PROMOTION_REFUSED);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('model v2 not promoted over live v1: cashback: AUC 0.612 < live 0.640 − 0.005; card_on_file: ECE 0.0300 > live 0.0100 + 0.005 (--force promotes anyway)');
    expect(await readCurrent(dir)).toBe('v1');
    const h = await readHistory(dir);
    expect(h.at(-1)).toMatchObject({ event: 'refused', version: 'v2', previous: 'v1', reason: 'cashback: AUC 0.612 < live 0.640 − 0.005; card_on_file: ECE 0.0300 > live 0.0100 + 0.005' });
    expect(h.at(-1)!.forced).toBeUndefined();
  });

  it('--force promotes a worse model (logged as forced) but never a different feature list', async () => {
    await save('v1');
    await save('v2', { metrics: { cashback: { auc: 0.612 } } });
    await save('v3', { features: ['f_a', 'f_c', 'f_b'] });
    await save('v4', { featureSetHash: 'fs2' });
    await promoteModel(dir, 'v1', TOL);
    for (const v of ['v3', 'v4']) {
      const e = await refusal(promoteModel(dir, v, TOL, { force: true }));
      expect(e.code).toBe(ErrorCodes.PROMOTION_REFUSED);
      expect(e.message).toMatch(/--force cannot override a feature mismatch/);
      expect(await readCurrent(dir)).toBe('v1');
    }
    const r = await promoteModel(dir, 'v2', TOL, { force: true });
    expect(r).toMatchObject({ promoted: true, previous: 'v1', forced: true, verdict: { ok: false } });
    expect(await readCurrent(dir)).toBe('v2');
    const h = await readHistory(dir);
    expect(h.map((x) => [x.event, x.version, x.forced ?? false])).toEqual([['promote', 'v1', false], ['refused', 'v3', true], ['refused', 'v4', true], ['promote', 'v2', true]]);
    expect(h[3].reason).toBe('cashback: AUC 0.612 < live 0.640 − 0.005');
  });

  it('a current model that no longer loads can only be replaced with --force', async () => {
    await save('v1');
    await save('v2');
    await promoteModel(dir, 'v1', TOL);
    await fs.writeFile(path.join(dir, 'v1', 'model.onnx'), 'garbage');
    const e = await refusal(promoteModel(dir, 'v2', TOL));
    expect(e.message).toMatch(/the current model v1 cannot be loaded to compare against \(.*corrupt/);
    expect((await promoteModel(dir, 'v2', TOL, { force: true })).forced).toBe(true);
  });

  it('rolls back one promote at a time, passing over versions that no longer load, then says there is nothing left', async () => {
    for (const v of ['v1', 'v2', 'v3', 'v4']) await save(v);
    for (const v of ['v1', 'v2', 'v3', 'v4']) await promoteModel(dir, v, TOL);
    expect(await rollbackModel(dir)).toEqual({ from: 'v4', to: 'v3', skipped: [] });
    await fs.rm(path.join(dir, 'v2'), { recursive: true });
    expect(await rollbackModel(dir)).toEqual({ from: 'v3', to: 'v1', skipped: ['v2'] });
    expect(await readCurrent(dir)).toBe('v1');
    const e = await refusal(rollbackModel(dir));
    expect(e.code).toBe(ErrorCodes.NO_ROLLBACK);
    expect(e.message).toMatch(/no model was current before the first promotion/);
    expect(await events()).toEqual([
      ['promote', 'v1', null],
      ['promote', 'v2', 'v1'],
      ['promote', 'v3', 'v2'],
      ['promote', 'v4', 'v3'],
      ['rollback', 'v3', 'v4'],
      ['rollback', 'v1', 'v3'],
    ]);
    // A new promote after rollbacks is rolled back to where it came from.
    await promoteModel(dir, 'v4', TOL);
    expect(await rollbackModel(dir)).toMatchObject({ from: 'v4', to: 'v1' });
  });

  it('NO_ROLLBACK when there is no history, or only the first promote', async () => {
    expect((await refusal(rollbackModel(dir))).message).toMatch(/no promotion in its history/);
    await save('v1');
    await promoteModel(dir, 'v1', TOL);
    const e = await refusal(rollbackModel(dir));
    expect(e.code).toBe(ErrorCodes.NO_ROLLBACK);
    expect(e.message).toMatch(/no model was current before the first promotion/);
    expect(await readCurrent(dir)).toBe('v1');
    expect((await fs.readFile(path.join(dir, HISTORY_FILE), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('rolls back to a version made current outside promote (as `paydecide train` does), once', async () => {
    await save('v0');
    await save('v1');
    await setCurrent(dir, 'v0');
    await promoteModel(dir, 'v1', TOL);
    expect(await rollbackModel(dir)).toEqual({ from: 'v1', to: 'v0', skipped: [] });
    expect((await refusal(rollbackModel(dir))).message).toMatch(/every promotion in its history has already been rolled back/);
  });

  it('rollbackCandidates replays promotes and rollbacks into a stack', () => {
    const p = (version: string, previous: string | null) => ({ event: 'promote', version, previous });
    const r = (version: string, previous: string) => ({ event: 'rollback', version, previous });
    expect(rollbackCandidates([p('a', null), p('b', 'a'), { event: 'refused', version: 'x', previous: 'b' }, p('c', 'b')])).toEqual([null, 'a', 'b']);
    expect(rollbackCandidates([p('a', null), p('b', 'a'), p('c', 'b'), r('b', 'c')])).toEqual([null, 'a']);
    expect(rollbackCandidates([p('a', null), p('b', 'a'), p('c', 'b'), r('a', 'c')])).toEqual([null]);
  });
});
