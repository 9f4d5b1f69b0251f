/**
 * The adjuster registry without training: the gbdt-adjuster manifest rules, its folder inside
 * the models folder (not listed as an uplift version), and loadCurrentAdjuster — null when none
 * is current, MODEL_INVALID (naming why) when the current one is built for other inputs or kind.
 * The ONNX bytes are opaque here (the registry checks their sha256, not their content).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ACTIONS, OFFER_ACTIONS } from '../../core/actions';
import { ADJUSTER_FEATURES } from '../../core/context-features';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { ADJUSTER_FEATURE_SET_HASH, adjusterManifestProblem, adjusterRegistryDir, loadCurrentAdjuster } from '../../models/adjuster-registry';
import { listModels, parseManifest, saveModel, setCurrent, sha256Hex, upliftOutputs, type ModelManifest } from '../../models/registry';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-adjreg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BYTES = new TextEncoder().encode('not really onnx');

function adjuster(version: string, change: (m: ModelManifest) => void = () => {}): ModelManifest {
  const m: ModelManifest = {
    version,
    kind: 'gbdt-adjuster',
    created_at: '2026-07-01T00:00:00Z',
    actions: [...OFFER_ACTIONS],
    outputs: upliftOutputs(ACTIONS),
    features: [...ADJUSTER_FEATURES],
    feature_set_hash: ADJUSTER_FEATURE_SET_HASH,
    training: { as_of: '2026-06-30', window_start: '2026-05-19', window_end: '2026-06-29', rows: 100, positives_per_action: Object.fromEntries(OFFER_ACTIONS.map((a) => [a, 1])), data_hash: 'd1' },
    metrics: Object.fromEntries(OFFER_ACTIONS.map((a) => [a, { auc: 0.6, logloss: 0.3, ece: 0.01, rows: 50, positives: 5, auuc: 0.01, qini: 0.01 }])),
    base_model_version: 'uplift-2026-06-30-abcdef12',
    onnx_sha256: sha256Hex(BYTES),
  };
  change(m);
  return m;
}

const isInvalid = (re: RegExp) => (e: unknown) => e instanceof PaydecideError && e.code === ErrorCodes.MODEL_INVALID && re.test(e.message);

describe('adjuster registry', () => {
  it('validates gbdt-adjuster manifests: uplift outputs and base_model_version required', () => {
    expect(parseManifest(adjuster('adjuster-a')).kind).toBe('gbdt-adjuster');
    expect(() => parseManifest(adjuster('adjuster-a', (m) => delete m.base_model_version))).toThrow(/base_model_version: required for gbdt-adjuster/);
    expect(() => parseManifest(adjuster('adjuster-a', (m) => delete m.outputs))).toThrow(/outputs: required for gbdt-adjuster/);
    expect(() => parseManifest(adjuster('adjuster-a', (m) => (m.outputs = [...m.outputs!].reverse())))).toThrow(/outputs: must be uptake_cashback,.* for gbdt-adjuster/);
    expect(adjusterManifestProblem(adjuster('adjuster-a'))).toBeNull();
    expect(adjusterManifestProblem(adjuster('adjuster-a', (m) => (m.kind = 'gbdt-uplift')))).toMatch(/kind is gbdt-uplift/);
  });

  it('lives in <models>/adjuster, which the uplift registry does not list as a version', async () => {
    const models = path.join(tmp, 'models-1');
    expect(await loadCurrentAdjuster(models)).toBeNull();
    await saveModel(adjusterRegistryDir(models), adjuster('adjuster-a'), BYTES);
    expect(await loadCurrentAdjuster(models)).toBeNull(); // saved, not current
    await setCurrent(adjusterRegistryDir(models), 'adjuster-a');
    expect((await loadCurrentAdjuster(models))?.manifest.base_model_version).toBe('uplift-2026-06-30-abcdef12');
    expect(await listModels(models)).toEqual([]);
    expect((await listModels(adjusterRegistryDir(models))).map((l) => [l.version, l.current])).toEqual([['adjuster-a', true]]);
  });

  it('refuses a current adjuster built for other inputs or of another kind', async () => {
    const models = path.join(tmp, 'models-2');
    const dir = adjusterRegistryDir(models);
    await saveModel(dir, adjuster('adjuster-other', (m) => (m.features = [...ADJUSTER_FEATURES.slice(0, -1), 'ctx_weekday'])), BYTES);
    await setCurrent(dir, 'adjuster-other');
    await expect(loadCurrentAdjuster(models)).rejects.toSatisfy(isInvalid(/adjuster-other .* cannot be used: its 18 input features/));
    const up = adjuster('uplift-in-wrong-place', (m) => {
      m.kind = 'gbdt-uplift';
      delete m.base_model_version;
    });
    await saveModel(dir, up, BYTES);
    await setCurrent(dir, up.version);
    await expect(loadCurrentAdjuster(models)).rejects.toSatisfy(isInvalid(/kind is gbdt-uplift/));
    fs.writeFileSync(path.join(dir, 'CURRENT'), 'adjuster-missing\n');
    await expect(loadCurrentAdjuster(models)).rejects.toSatisfy(isInvalid(/points to version adjuster-missing/));
  });
});
