/**
 * The evaluation report on a real model: a generated world, uplift models trained and promoted
 * through the registry (trainAndPromote), then computeEvalReport over the held-out test split —
 * every figure present and finite, the policy values ordered as they must be by construction, the
 * OPE intervals around their estimates, the renderings free of NaN. And the registry's guard: a
 * candidate with worse metrics (same ONNX bytes, hand-lowered AUC) is refused and CURRENT stays.
 * DuckDB, ONNX Runtime and the local registry only: no Redis.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, OFFER_ACTIONS } from '../../core/actions';
import { loadConfig, type Config } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { computeEvalReport } from '../../jobs/report/eval-report';
import { renderEvalHtml, renderEvalText } from '../../jobs/report/eval-report-render';
import type { EvalReport } from '../../jobs/report/eval-report-types';
import { trainAndPromote, type TrainAndPromoteResult } from '../../jobs/train/train-and-promote';
import { generateWorld } from '../../jobs/world';
import { promoteModel } from '../../models/promote';
import { loadCurrent, readCurrent, readHistory, saveModel, type ModelManifest } from '../../models/registry';

const DATE = '2026-06-30';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-evalrep-'));
const world = path.join(tmp, 'world');
let cfg: Config;
let trained: TrainAndPromoteResult;
let report: EvalReport;

beforeAll(async () => {
  await generateWorld({ out: world, users: 3000, days: 90, date: DATE, seed: 5, buckets: 8, duck: { threads: 2, memory: '1GB' } });
  cfg = loadConfig({ PAYDECIDE_HOME: tmp, PAYDECIDE_MODELS_DIR: path.join(tmp, 'models'), PAYDECIDE_DUCKDB_THREADS: '2', PAYDECIDE_DUCKDB_MEMORY: '1GB', PAYDECIDE_ORT_THREADS: '1' });
  trained = await trainAndPromote(cfg, { dataDir: world, asOf: DATE });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every number anywhere in the report, with its path. */
function numbers(v: unknown, at = '$', out: [string, number][] = []): [string, number][] {
  if (typeof v === 'number') out.push([at, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${at}[${i}]`, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) numbers(x, `${at}.${k}`, out);
  return out;
}

describe('evaluation report on a trained model', () => {
  it('trains, promotes over an empty registry and computes the report', async () => {
    expect(trained.promoted).toBe(true);
    expect(trained.previous).toBeNull();
    expect(await readCurrent(cfg.modelsDir)).toBe(trained.manifest.version);
    const model = await loadCurrent(cfg.modelsDir);
    expect(model.manifest.kind).toBe('gbdt-uplift');
    report = await computeEvalReport({ dataDir: world, asOf: DATE, model, windows: cfg.attributionWindows, duck: { threads: 2, memory: '1GB' }, ortThreads: 1, bootstrap: 200 });
    expect(report.model_version).toBe(trained.manifest.version);
    expect(report.as_of).toBe(DATE);
    expect(report.test_window.rows).toBeGreaterThan(100);
    expect(report.test_window.start < report.test_window.end).toBe(true);
    expect(report.test_window.end < `${DATE}T00:00:00`).toBe(true);
  });

  it('has per-action figures keyed by the five offer actions', () => {
    expect(Object.keys(report.actions).sort()).toEqual([...OFFER_ACTIONS].sort());
    for (const a of OFFER_ACTIONS) {
      const e = report.actions[a];
      if (e.auc !== null) {
        expect(Number.isFinite(e.auc), `${a} auc`).toBe(true);
        expect(e.auc).toBeGreaterThanOrEqual(0);
        expect(e.auc).toBeLessThanOrEqual(1);
      }
      expect(Number.isFinite(e.logloss), `${a} logloss`).toBe(true);
      expect(e.logloss).toBeGreaterThan(0);
      expect(Number.isFinite(e.ece), `${a} ece`).toBe(true);
      expect(e.ece).toBeGreaterThanOrEqual(0);
      expect(e.ece).toBeLessThanOrEqual(1);
      expect(Number.isFinite(e.auuc), `${a} auuc`).toBe(true);
      expect(Number.isFinite(e.qini), `${a} qini`).toBe(true);
      expect(e.rows_treated).toBeGreaterThan(0);
      expect(e.rows_control).toBeGreaterThan(0);
      // Synthetic world: the truth is there.
      expect(e.mean_true_uplift).not.toBeNull();
    }
  });

  it('its metrics are the ones the trainer recorded in the manifest (same test split, same graph)', () => {
    for (const a of OFFER_ACTIONS) {
      const m = trained.manifest.metrics[a];
      const e = report.actions[a];
      if (m.auc === null) expect(e.auc).toBeNull();
      else expect(e.auc).toBeCloseTo(m.auc, 4);
      expect(e.ece).toBeCloseTo(m.ece, 4);
      expect(e.logloss).toBeCloseTo(m.logloss, 4);
      expect(e.auuc).toBeCloseTo(m.auuc!, 4);
      expect(e.rows_treated).toBe(m.rows);
    }
  });

  it('orders the policy values as they must be by construction', () => {
    const pv = report.policy_value;
    expect(pv).not.toBeNull();
    for (const k of ['learned', 'oracle', 'best_single', 'random'] as const) expect(Number.isFinite(pv![k]), k).toBe(true);
    const eps = 1e-9;
    expect(pv!.oracle).toBeGreaterThanOrEqual(pv!.learned - eps);
    expect(pv!.oracle).toBeGreaterThanOrEqual(pv!.best_single - eps);
    expect(pv!.oracle).toBeGreaterThanOrEqual(pv!.random - eps);
    // The oracle never loses to `none` (0), and the best single action is at least as good as none.
    expect(pv!.oracle).toBeGreaterThanOrEqual(0);
    expect(pv!.best_single).toBeGreaterThanOrEqual(0);
    expect([...OFFER_ACTIONS, 'none']).toContain(pv!.best_single_action);
    for (const mix of [pv!.learned_mix, pv!.oracle_mix]) {
      expect(Object.keys(mix).sort()).toEqual([...ACTIONS].sort());
      expect(Object.values(mix).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
    }
  });

  it('has OPE estimates inside their bootstrap intervals, beside the true value', () => {
    const ope = report.ope;
    expect(ope.true_value).not.toBeNull();
    expect(Number.isFinite(ope.true_value!)).toBe(true);
    expect(Number.isFinite(ope.logged_value)).toBe(true);
    expect(ope.rows).toBeGreaterThan(50);
    expect(ope.bootstrap).toBe(200);
    for (const k of ['ips', 'snips', 'dr'] as const) {
      const i = ope[k];
      for (const v of [i.estimate, i.ci_low, i.ci_high]) expect(Number.isFinite(v), k).toBe(true);
      expect(i.ci_low, k).toBeLessThanOrEqual(i.estimate);
      expect(i.estimate, k).toBeLessThanOrEqual(i.ci_high);
      expect(i.ci_high - i.ci_low, k).toBeGreaterThan(0);
      expect(ope.covers[k]).toBe(i.ci_low <= ope.true_value! && ope.true_value! <= i.ci_high);
    }
  });

  it('is plain JSON: no NaN or Infinity, so it survives a round trip unchanged (uplift at top k aside)', () => {
    // uplift_at_top_k passes models/uplift-metrics.ts's NaN through ("NaN when either arm has no
    // rows in the top k"), although eval-report-types.ts declares plain numbers there, so
    // `report eval --json` prints null for them (reported as a source bug). Everything else must
    // be finite; those entries must at least never be ±Infinity.
    const all = numbers(report);
    const topK = (p: string) => /\.uplift_at_top_k\[\d+\]\.(uplift|treated|control)$/.test(p);
    expect(all.filter(([p, v]) => !topK(p) && !Number.isFinite(v))).toEqual([]);
    expect(all.filter(([p, v]) => topK(p) && !Number.isFinite(v) && !Number.isNaN(v))).toEqual([]);
    for (const e of Object.values(report.actions)) for (const u of e.uplift_at_top_k) expect(Number.isFinite(u.k)).toBe(true);
    const withoutTopK = { ...report, actions: Object.fromEntries(Object.entries(report.actions).map(([a, e]) => [a, { ...e, uplift_at_top_k: [] }])) };
    expect(JSON.parse(JSON.stringify(withoutTopK))).toEqual(withoutTopK);
    for (const c of report.checks) {
      expect(typeof c.pass).toBe('boolean');
      expect(c.actual).not.toMatch(/NaN|Infinity|undefined/);
    }
  });

  it('renders text and HTML without NaN', () => {
    const text = renderEvalText(report);
    const html = renderEvalHtml(report);
    for (const [name, s] of [['text', text], ['html', html]] as const) {
      expect(s, name).not.toMatch(/NaN|undefined|Infinity/);
      expect(s, name).toContain(report.model_version);
      for (const a of OFFER_ACTIONS) expect(s, `${name} ${a}`).toContain(a);
    }
    expect(html.trimStart().toLowerCase().startsWith('<!doctype html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });
});

describe('promotion guard', () => {
  it('refuses a worse candidate (same ONNX bytes, lower AUC) and CURRENT does not move', async () => {
    const live = await loadCurrent(cfg.modelsDir);
    const before = await readCurrent(cfg.modelsDir);
    expect(before).toBe(trained.manifest.version);
    const historyBefore = await readHistory(cfg.modelsDir);

    const worse: ModelManifest = structuredClone(live.manifest);
    worse.version = 'uplift-worse-auc';
    worse.created_at = new Date().toISOString();
    const lowered: string[] = [];
    for (const a of OFFER_ACTIONS) {
      const m = worse.metrics[a];
      if (m.auc !== null && m.auc >= 0.06) {
        m.auc = m.auc - 0.05; // ten times the default tolerance (0.005)
        lowered.push(a);
      }
    }
    expect(lowered.length).toBeGreaterThan(0);
    await saveModel(cfg.modelsDir, worse, live.onnxBytes);

    let err: unknown;
    try {
      await promoteModel(cfg.modelsDir, worse.version, cfg.promotion);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PaydecideError);
    expect((err as PaydecideError).code).toBe(ErrorCodes.PROMOTION_REFUSED);
    for (const a of lowered) expect((err as Error).message).toMatch(new RegExp(`${a}: AUC \\d\\.\\d{3} < live`));
    expect(await readCurrent(cfg.modelsDir)).toBe(before);
    expect((await loadCurrent(cfg.modelsDir)).manifest.version).toBe(trained.manifest.version);
    const history = await readHistory(cfg.modelsDir);
    expect(history.length).toBe(historyBefore.length + 1);
    expect(history.at(-1)).toMatchObject({ event: 'refused', version: worse.version, previous: before });

    // The control: the same bytes with the live model's own metrics are not worse, so they pass.
    const same: ModelManifest = { ...structuredClone(live.manifest), version: 'uplift-same-metrics', created_at: new Date().toISOString() };
    await saveModel(cfg.modelsDir, same, live.onnxBytes);
    const ok = await promoteModel(cfg.modelsDir, same.version, cfg.promotion);
    expect(ok).toMatchObject({ promoted: true, previous: before, forced: false });
    expect(await readCurrent(cfg.modelsDir)).toBe(same.version);
  });
});
