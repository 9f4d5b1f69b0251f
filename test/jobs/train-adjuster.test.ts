/**
 * The online adjuster on a small generated world: an uplift model trained and promoted, then the
 * adjuster over it — registered in `<models>/adjuster` with the adjuster's features and the
 * uplift layout's outputs, ONNX Runtime equal to the trainer on every row, input rows equal to
 * adjusterInputInto over the score record (real codec) and the context read straight from the
 * decision log (feature parity with serving), and promotion: the first is promoted, a second
 * training (through the CLI, on part of the log) goes live or not as comparePromotion says, a
 * worse candidate is refused, and one over another uplift model is replaced without comparison.
 * (The registry rules without training: test/models/adjuster-registry.test.ts.)
 * DuckDB, ONNX Runtime and the local registries only: no Redis.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, OFFER_ACTIONS } from '../../core/actions';
import { loadConfig, type Config } from '../../core/config';
import { ADJUSTER_FEATURES, ADJUSTER_WIDTH, adjusterInputInto, type PaymentContext } from '../../core/context-features';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT } from '../../core/feature-registry';
import { decodeRecord, encodeRecords, RECORD_BYTES } from '../../core/score-record-codec';
import { closeDuckDB, openDuckDB } from '../../jobs/duckdb';
import { buildDatasetTable, readDatasetArrays, worldSliceFiles, type DatasetArrays } from '../../jobs/dataset/build-dataset';
import { promoteAdjuster, trainAndPromoteAdjuster, type TrainAndPromoteAdjusterResult } from '../../jobs/train/train-adjuster';
import { trainAndPromote, type TrainAndPromoteResult } from '../../jobs/train/train-and-promote';
import { generateWorld, readWorldManifest } from '../../jobs/world';
import { ADJUSTER_FEATURE_SET_HASH, adjusterRegistryDir, loadCurrentAdjuster } from '../../models/adjuster-registry';
import { splitModelOutputs, UPLIFT_OUTPUT_WIDTH } from '../../models/model-outputs';
import { OnnxScorer } from '../../models/onnx-scorer';
import { predictTargets } from '../../models/onnx-tree-export';
import { comparePromotion } from '../../models/promotion';
import { listModels, loadModel, parseManifest, readCurrent, readHistory, readManifest, saveModel, setCurrent, upliftOutputs, type ModelManifest } from '../../models/registry';

const ROOT = path.resolve(__dirname, '..', '..');
const DATE = '2026-06-30';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-adjuster-'));
const world = path.join(tmp, 'world');
const modelsDir = path.join(tmp, 'models');
const adjDir = adjusterRegistryDir(modelsDir);
let cfg: Config;
let uplift: TrainAndPromoteResult;
let adj: TrainAndPromoteAdjusterResult;

beforeAll(async () => {
  await generateWorld({ out: world, users: 3000, days: 90, date: DATE, seed: 5, buckets: 8, duck: { threads: 2, memory: '1GB' } });
  cfg = loadConfig({ PAYDECIDE_HOME: tmp, PAYDECIDE_MODELS_DIR: modelsDir, PAYDECIDE_DUCKDB_THREADS: '2', PAYDECIDE_DUCKDB_MEMORY: '1GB', PAYDECIDE_ORT_THREADS: '1' });
  uplift = await trainAndPromote(cfg, { dataDir: world, asOf: DATE });
  adj = await trainAndPromoteAdjuster(cfg, { dataDir: world, asOf: DATE, keepInputs: true });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A registered copy of `m` under another version (same ONNX bytes), with `change` applied. */
async function variant(m: ModelManifest, version: string, change: (x: ModelManifest) => void): Promise<ModelManifest> {
  const x = structuredClone(m);
  x.version = version;
  x.created_at = new Date().toISOString();
  change(x);
  await saveModel(adjDir, x, (await loadModel(adjDir, m.version)).onnxBytes);
  return x;
}

describe('online adjuster training', () => {
  it('trains over the current uplift model and promotes the first adjuster into its own registry', async () => {
    expect(uplift.promoted).toBe(true);
    expect(adj.promoted).toBe(true);
    expect(adj.previous).toBeNull();
    expect(await readCurrent(adjDir)).toBe(adj.manifest.version);
    expect(await readCurrent(modelsDir)).toBe(uplift.manifest.version);
    const loaded = await loadCurrentAdjuster(modelsDir);
    expect(loaded?.manifest.version).toBe(adj.manifest.version);
    expect(loaded?.manifest.base_model_version).toBe(uplift.manifest.version);
    // The adjuster folder is not a version of the uplift registry.
    expect((await listModels(modelsDir)).map((l) => l.version)).toEqual([uplift.manifest.version]);
    expect(await loadCurrentAdjuster(path.join(tmp, 'empty-models'))).toBeNull();
  });

  it('registers a manifest with the adjuster features and the uplift layout of outputs', async () => {
    const m = await readManifest(adjDir, adj.manifest.version);
    expect(m.kind).toBe('gbdt-adjuster');
    expect(m.features).toEqual([...ADJUSTER_FEATURES]);
    expect(m.feature_set_hash).toBe(ADJUSTER_FEATURE_SET_HASH);
    expect(m.outputs).toEqual(upliftOutputs(ACTIONS));
    expect(m.actions).toEqual([...OFFER_ACTIONS]);
    for (const a of OFFER_ACTIONS) {
      expect(Number.isFinite(m.metrics[a].logloss)).toBe(true);
      expect(m.metrics[a].calibration).toBe('platt');
    }
    expect(m.training.train_rows! + m.training.valid_rows!).toBeGreaterThan(0);
    expect(m.training.test_rows).toBe(uplift.dataset.splits.test.rows);
    expect(() => parseManifest({ ...m, base_model_version: undefined })).toThrow(/base_model_version: required for gbdt-adjuster/);
    expect(() => parseManifest({ ...m, outputs: [...ACTIONS] })).toThrow(/outputs: must be .* for gbdt-adjuster/);
    // Per action, the adjusted and the precomputed uptake measured on the same offered test rows.
    expect(adj.comparison.map((c) => c.action)).toEqual([...OFFER_ACTIONS]);
    for (const c of adj.comparison) {
      expect(c.rows).toBe(m.metrics[c.action].rows);
      expect(Number.isFinite(c.adjusted.logloss) && Number.isFinite(c.precomputed.logloss)).toBe(true);
    }
  });

  it('ONNX Runtime reproduces the trainer to 1e-5 on every adjuster row, ten outputs read like the uplift model', async () => {
    const { inputs, targets } = adj;
    const loaded = (await loadCurrentAdjuster(modelsDir))!;
    const scorer = await OnnxScorer.load(loaded.onnxBytes, { threads: 1 });
    try {
      expect(scorer.inputWidth).toBe(ADJUSTER_WIDTH);
      expect(scorer.outputWidth).toBe(UPLIFT_OUTPUT_WIDTH);
      const out = await scorer.score(inputs!.x, inputs!.n);
      const own = predictTargets(targets!, inputs!.x, inputs!.n);
      let worst = 0;
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - own[i]));
      expect(worst).toBeLessThanOrEqual(1e-5);
      const H = ACTIONS.length;
      const scores = new Float32Array(inputs!.n * H);
      const up = new Float32Array(inputs!.n * H);
      splitModelOutputs(out, inputs!.n, scorer.outputWidth, scores, up);
      for (let i = 0; i < inputs!.n; i++) expect(scores[i * H + H - 1]).toBe(0);
    } finally {
      await scorer.close();
    }
  });

  it('builds its input rows like serving: record-quantised uplift scores of the row, context straight from the decision log', async () => {
    const inp = adj.inputs!;
    // The uplift model's outputs are ONNX Runtime's on the training set's features of each row.
    const d = await openDuckDB({ threads: 2, memory: '1GB' });
    let ds: DatasetArrays;
    try {
      const w = readWorldManifest(world);
      await buildDatasetTable(d.conn, worldSliceFiles(world, w), { asOf: DATE, windows: cfg.attributionWindows, dataStart: w.start_date });
      ds = await readDatasetArrays(d.conn);
    } finally {
      closeDuckDB(d);
    }
    expect(inp.n).toBe(ds.split.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0));
    const x = new Float32Array(inp.n * FEATURE_COUNT);
    inp.rows.forEach((r, i) => x.set(ds.x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), i * FEATURE_COUNT));
    const scorer = await OnnxScorer.load(uplift.onnxBytes, { threads: 1 });
    try {
      expect(Array.from(await scorer.score(x, inp.n))).toEqual(Array.from(inp.upliftOut));
    } finally {
      await scorer.close();
    }

    // The context, read from the decision log's Parquet files by decision_id.
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    const logged = new Map<string, PaymentContext>();
    for (const r of (await c.runAndReadAll(`SELECT decision_id, ctx_amount_usd, ctx_mcc, ctx_channel, ctx_auth_outcome, hour(decision_ts)::INTEGER FROM read_parquet('${world}/decision_log/**/*.parquet')`)).getRows()) {
      logged.set(String(r[0]), { amountUsd: r[1] === null ? null : Number(r[1]), mcc: r[2] as string | null, channel: r[3] as string | null, authOutcome: r[4] as string | null, hourUtc: Number(r[5]) });
    }
    c.closeSync();
    inst.closeSync();

    // The record the nightly would publish for each row, through the real codec, decoded as serving decodes it.
    const H = ACTIONS.length;
    const scores = new Float32Array(inp.n * H);
    const upl = new Float32Array(inp.n * H);
    splitModelOutputs(inp.upliftOut, inp.n, UPLIFT_OUTPUT_WIDTH, scores, upl);
    const records = encodeRecords(inp.n, scores, upl, new Uint8Array(inp.n * H).fill(255), new Uint8Array(inp.n), new Uint8Array(inp.n), 0);
    const want = new Float32Array(ADJUSTER_WIDTH);
    let mismatches = 0;
    const hours = new Set<number>();
    let withPayment = 0;
    for (let i = 0; i < inp.n; i++) {
      const ctx = logged.get(inp.decisionIds[i]);
      expect(ctx, inp.decisionIds[i]).toBeDefined();
      const rec = decodeRecord(records, i * RECORD_BYTES);
      adjusterInputInto(rec.scores, rec.uplift, ctx!, want);
      const got = inp.x.subarray(i * ADJUSTER_WIDTH, (i + 1) * ADJUSTER_WIDTH);
      if (want.some((v, k) => !Object.is(v, got[k]))) mismatches++;
      hours.add(ctx!.hourUtc);
      if (ctx!.amountUsd !== null) withPayment++;
    }
    expect(mismatches).toBe(0);
    // The check is not vacuous: the context varies.
    expect(hours.size).toBeGreaterThan(12);
    expect(withPayment).toBeGreaterThan(inp.n / 2);
  });

  it('a second training (CLI, part of the log) goes live or not as the promotion rules say', () => {
    const buckets = fs.readdirSync(path.join(world, 'decision_log')).filter((b) => b.startsWith('bucket=')).sort().slice(0, 6);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), 'train', '--adjuster', '--data', world, '--date', DATE, '--decisions', ...buckets.map((b) => path.join(world, 'decision_log', b)), '--outcomes', path.join(world, 'outcomes'), '--json'], {
      env: { ...process.env, PAYDECIDE_HOME: tmp, PAYDECIDE_MODELS_DIR: modelsDir, PAYDECIDE_DUCKDB_THREADS: '2', PAYDECIDE_DUCKDB_MEMORY: '1GB', PAYDECIDE_ORT_THREADS: '1', PAYDECIDE_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.stderr).not.toMatch(/PD_ERR/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { manifest: ModelManifest; promoted: boolean; previous: string; reasons: string[]; comparison: unknown[] };
    expect(out.manifest.version).not.toBe(adj.manifest.version);
    expect(out.manifest.base_model_version).toBe(uplift.manifest.version);
    expect(out.manifest.training.rows).toBeLessThan(adj.manifest.training.rows);
    expect(out.comparison).toHaveLength(OFFER_ACTIONS.length);
    const verdict = comparePromotion(out.manifest, adj.manifest, cfg.promotion);
    expect(out.promoted).toBe(verdict.ok);
    expect(out.previous).toBe(adj.manifest.version);
    if (!verdict.ok) expect(out.reasons).toEqual(verdict.reasons);
    return readCurrent(adjDir).then((cur) => expect(cur).toBe(verdict.ok ? out.manifest.version : adj.manifest.version));
  });

  it('refuses a worse candidate over the same uplift model (CURRENT stays), replaces one over another uplift model', async () => {
    await setCurrent(adjDir, adj.manifest.version);
    const worse = await variant(adj.manifest, 'adjuster-test-worse', (m) => {
      for (const a of m.actions) m.metrics[a].ece = Math.min(1, m.metrics[a].ece + 0.1);
    });
    const r = await promoteAdjuster(cfg, worse);
    expect(r.promoted).toBe(false);
    expect(r.reasons.join(' ')).toMatch(/ECE .* > live/);
    expect(await readCurrent(adjDir)).toBe(adj.manifest.version);
    expect((await readHistory(adjDir)).at(-1)).toMatchObject({ event: 'refused', version: worse.version, previous: adj.manifest.version });

    // A live adjuster trained over another uplift model is stale: the candidate replaces it, worse or not.
    const stale = await variant(adj.manifest, 'adjuster-test-stale', (m) => {
      m.base_model_version = 'uplift-2026-01-01-00000000';
    });
    await setCurrent(adjDir, stale.version);
    const s = await promoteAdjuster(cfg, worse);
    expect(s.promoted).toBe(true);
    expect(s.reasons.join(' ')).toMatch(/trained over uplift model uplift-2026-01-01-00000000/);
    expect(await readCurrent(adjDir)).toBe(worse.version);
    await setCurrent(adjDir, adj.manifest.version);
  });

  it('refuses to train without a current uplift model, and --decisions without --adjuster', async () => {
    await expect(trainAndPromoteAdjuster({ ...cfg, modelsDir: path.join(tmp, 'no-models') }, { dataDir: world, asOf: DATE })).rejects.toSatisfy((e: unknown) => e instanceof PaydecideError && e.code === ErrorCodes.NO_MODEL);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), 'train', '--data', world, '--date', DATE, '--decisions', world], {
      env: { ...process.env, PAYDECIDE_HOME: tmp, PAYDECIDE_MODELS_DIR: modelsDir, PAYDECIDE_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/PD_ERR_BAD_FLAG: --decisions needs --adjuster/);
  });
});
