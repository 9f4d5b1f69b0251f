/**
 * `paydecide models …` as a user runs it, over a temp registry (PAYDECIDE_MODELS_DIR): list, show,
 * guarded promote (refused → exit 2 with the reasons on stderr), --force, rollback.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { exportLinearSigmoidOnnx, saveModel, sha256Hex, type HeadMetrics, type ModelManifest } from '../../models';

const ROOT = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-models-cli-'));
const dir = path.join(tmp, 'models');

function pd(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), 'models', ...args], {
    env: { ...process.env, PAYDECIDE_HOME: path.join(tmp, 'home'), PAYDECIDE_MODELS_DIR: dir, PAYDECIDE_LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function save(version: string, createdAt: string, metrics: Partial<Record<string, Partial<HeadMetrics>>> = {}) {
  const features = ['f_a', 'f_b'];
  const H = ACTIONS.length;
  const bytes = exportLinearSigmoidOnnx({ featureCount: 2, heads: [...ACTIONS], weights: new Float32Array(2 * H).fill(0.1), bias: new Float32Array(H) }, { modelVersion: version, featureSetHash: 'fs1' });
  const manifest: ModelManifest = {
    version,
    kind: 'baseline-lr',
    created_at: createdAt,
    actions: [...ACTIONS],
    features,
    feature_set_hash: 'fs1',
    training: { as_of: '2026-01-01', window_start: '2025-12-01', window_end: '2025-12-31', rows: 1000, positives_per_action: Object.fromEntries(ACTIONS.map((a) => [a, 10])), data_hash: 'd1' },
    metrics: Object.fromEntries(ACTIONS.map((a) => [a, { auc: 0.64, logloss: 0.4, ece: 0.01, rows: 1000, positives: 10, ...metrics[a] }])),
    onnx_sha256: sha256Hex(bytes),
  };
  await saveModel(dir, manifest, bytes);
}

beforeAll(async () => {
  await save('v1', '2026-01-01T00:00:00Z');
  await save('v2', '2026-01-02T00:00:00Z', { cashback: { auc: 0.612 } });
  await save('v3', '2026-01-03T00:00:00Z', { cashback: { auc: 0.66 } });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('paydecide models', () => {
  it('says there is nothing to roll back (exit 1) before any promotion', () => {
    const r = pd(['rollback']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/PD_ERR_NO_ROLLBACK: cannot roll back the model registry .*no promotion in its history/);
  });

  it('promotes the first model, refuses a worse one with exit 2 and the reason on stderr, and keeps the live one', () => {
    const first = pd(['promote', 'v1']);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/model v1 is current \(first current model\)/);

    const r = pd(['promote', 'v2']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('PD_ERR_PROMOTION_REFUSED: model v2 not promoted over live v1: cashback: AUC 0.612 < live 0.640 − 0.005 (--force promotes anyway)');

    const j = pd(['promote', 'v2', '--json']);
    expect(j.code).toBe(2);
    const body = JSON.parse(j.out);
    expect(body).toMatchObject({ version: 'v2', promoted: false, refused: true, previous: 'v1', verdict: { ok: false, reasons: ['cashback: AUC 0.612 < live 0.640 − 0.005'] } });

    const list = pd(['list', '--json']);
    expect(list.code, list.err).toBe(0);
    expect(JSON.parse(list.out).map((l: { version: string; current: boolean }) => [l.version, l.current])).toEqual([['v1', true], ['v2', false], ['v3', false]]);
  });

  it('a looser tolerance from the environment lets the same candidate through', () => {
    const r = pd(['promote', 'v2', '--json'], { PAYDECIDE_PROMOTE_TOL_AUC: '0.05' });
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ promoted: true, previous: 'v1', forced: false });
    const back = pd(['rollback', '--json']);
    expect(back.code, back.err).toBe(0);
    expect(JSON.parse(back.out)).toEqual({ from: 'v2', to: 'v1', skipped: [] });
  });

  it('promotes a better model, lists both with the current marker, shows its history, and rolls back', () => {
    const p = pd(['promote', 'v3']);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/model v3 is current \(was v1\)/);
    expect(p.out).toMatch(/cashback\s+AUC\s+\+0\.020/);

    const list = pd(['list']);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^\* v3\s+baseline-lr/m);
    expect(list.out).toMatch(/^ {2}v1\s+baseline-lr\s+2026-01-01T00:00:00Z\s+2026-01-01\s+1000\s+cashback 0\.640\/-\/0\.0100/m);

    const show = pd(['show', 'v2', '--json']);
    expect(show.code, show.err).toBe(0);
    const s = JSON.parse(show.out);
    expect(s).toMatchObject({ current: false, integrity: 'ok', manifest: { version: 'v2' } });
    expect(s.history.map((h: { event: string }) => h.event)).toEqual(['refused', 'refused', 'promote', 'rollback']);
    const text = pd(['show', 'v3']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/^model v3 \(baseline-lr\), CURRENT/);

    const r = pd(['rollback']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/model v1 is current again \(was v3\)/);
  });

  it('--force promotes the worse model; unknown versions are NO_MODEL', () => {
    const f = pd(['promote', 'v2', '--force']);
    expect(f.code, f.err).toBe(0);
    expect(f.out).toMatch(/forced despite: cashback: AUC 0\.612 < live 0\.640 − 0\.005/);
    const u = pd(['promote', 'v9']);
    expect(u.code).toBe(1);
    expect(u.err).toMatch(/PD_ERR_NO_MODEL: model version v9 not found/);
  });
});
