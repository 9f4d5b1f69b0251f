/**
 * Trains the online adjuster: a small model over the precomputed scores plus the fresh payment
 * context (core/context-features.ts ADJUSTER_FEATURES), trained from the decision log — the
 * context logged at decision time — so training sees what serving saw (jobs/train/adjuster-rows.ts).
 *
 * Same T-learner as the uplift models (train-uplift.ts): per offer action a, uptake_a on the
 * decisions that offered a (clipped inverse-propensity weights), base_a on the others, Platt-
 * calibrated, one ONNX tree ensemble with the uplift models' ten outputs, checked against ONNX
 * Runtime to 1e-5. The precomputed scores come from the current uplift model, which trained on
 * the 'train' split; so the adjuster fits on the 'valid' split (its first 70% by time; the last
 * 30% early-stops and calibrates) and is measured on 'test' beside the precomputed uptake it adjusts.
 * Saved to the adjuster registry (`<modelsDir>/adjuster`), with the uplift model it was trained over.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../core/config';
import { ACTIONS, OFFER_ACTIONS, type Action } from '../../core/actions';
import { ADJUSTER_FEATURES, ADJUSTER_WIDTH } from '../../core/context-features';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { ADJUSTER_FEATURE_SET_HASH, ADJUSTER_KIND, adjusterRegistryDir } from '../../models/adjuster-registry';
import { ADJUSTER_FIT_FRACTION, ADJUSTER_GBDT_PARAMS } from '../../models/adjuster-params';
import { fitPlatt } from '../../models/calibration';
import { predictMargin, trainGbdt, type GbdtData, type GbdtParams } from '../../models/gbdt';
import { ipwWeights } from '../../models/ipw';
import { exportTreeEnsembleOnnx, predictTargets, type TreeTarget } from '../../models/onnx-tree-export';
import { OnnxScorer } from '../../models/onnx-scorer';
import { promoteModel } from '../../models/promote';
import { loadCurrent, saveModel, sha256Hex, upliftOutputs, type HeadMetrics, type LoadedModel, type ModelManifest } from '../../models/registry';
import { evaluateUplift } from '../../models/uplift-evaluation';
import { closeDuckDB, openDuckDB, type DuckOptions } from '../duckdb';
import { buildDatasetTable, readDatasetArrays, worldSliceFiles, Y_MISSING, type DatasetArrays, type DatasetSummary } from '../dataset/build-dataset';
import { readWorldManifest } from '../world';
import { buildAdjusterInputs, type AdjusterInputs } from './adjuster-rows';
import { IPW_CLIP, trainSettings } from './train-uplift';

export interface TrainAdjusterOptions {
  dataDir: string;
  asOf: string;
  /** The models folder: the uplift registry; the adjuster's is its `adjuster` subfolder. */
  modelsDir: string;
  duck: DuckOptions;
  ortThreads: number;
  windows: Readonly<Record<Action, number>>;
  /** Decision-log / outcome Parquet files in the documented schema, instead of the world's. */
  decisions?: string[];
  outcomes?: string[];
  logger?: Logger;
  params?: GbdtParams;
  /** Return the input rows and the trained trees (for parity tests). */
  keepInputs?: boolean;
}

/** One action's test-split figures on the offered rows: the adjusted uptake beside the precomputed one. */
export interface AdjusterComparison {
  action: string;
  rows: number;
  positives: number;
  adjusted: { auc: number | null; logloss: number; ece: number; auuc: number };
  precomputed: { auc: number | null; logloss: number; ece: number; auuc: number };
}

export interface TrainedAdjuster {
  manifest: ModelManifest;
  onnxBytes: Uint8Array;
  dataset: DatasetSummary;
  /** Per offer action, on the test split. */
  comparison: AdjusterComparison[];
  seconds: number;
  /** With keepInputs: the adjuster rows of the valid and test splits, and the trees behind the graph. */
  inputs?: AdjusterInputs;
  targets?: TreeTarget[];
}

function pick(x: Float32Array, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * ADJUSTER_WIDTH);
  idx.forEach((k, i) => out.set(x.subarray(k * ADJUSTER_WIDTH, (k + 1) * ADJUSTER_WIDTH), i * ADJUSTER_WIDTH));
  return out;
}

/** The current uplift model, which the adjuster's inputs come from: NO_MODEL when there is none (or only the placeholder baseline). */
async function currentUplift(modelsDir: string): Promise<LoadedModel> {
  const m = await loadCurrent(modelsDir);
  if (m.manifest.kind !== 'gbdt-uplift') throw new PaydecideError(ErrorCodes.NO_MODEL, `the current model ${m.manifest.version} is a ${m.manifest.kind}, not an uplift model: train one first (paydecide train)`);
  if (m.manifest.feature_set_hash !== FEATURE_SET_HASH || m.manifest.features.join('\n') !== FEATURE_NAMES.join('\n')) {
    throw new PaydecideError(ErrorCodes.MODEL_INVALID, `the current uplift model ${m.manifest.version} was trained on another feature list (${m.manifest.feature_set_hash}, this build ${FEATURE_SET_HASH}): retrain it first`);
  }
  return m;
}

/** Trains, exports and checks an adjuster over the current uplift model; saves it to the adjuster registry (not promoted here). */
export async function trainAdjuster(o: TrainAdjusterOptions): Promise<TrainedAdjuster> {
  const t0 = performance.now();
  const log = o.logger;
  const world = readWorldManifest(o.dataDir);
  if (o.asOf > world.date || o.asOf <= world.start_date) {
    throw new PaydecideError(ErrorCodes.UNKNOWN_DATE, `--date ${o.asOf} is outside the world's data (${world.start_date} .. ${world.date})`);
  }
  const base = await currentUplift(o.modelsDir);
  const files = worldSliceFiles(o.dataDir, world, o);
  const d = await openDuckDB(o.duck);
  let ds: DatasetArrays;
  let summary: DatasetSummary;
  let inp: AdjusterInputs;
  try {
    summary = await buildDatasetTable(d.conn, files, { asOf: o.asOf, windows: o.windows, dataStart: world.start_date, logger: log });
    ds = await readDatasetArrays(d.conn);
    inp = await buildAdjusterInputs(d.conn, ds, base.onnxBytes);
  } finally {
    closeDuckDB(d);
  }
  log?.info({ rows: ds.n, adjuster_rows: inp.n, splits: summary.splits, base_model: base.manifest.version }, 'adjuster inputs built');

  // Adjuster row k is dataset row inp.rows[k]: the valid split (fit, then stop) and the test split.
  const G = OFFER_ACTIONS.length;
  const valid: number[] = [];
  const test: number[] = [];
  for (let k = 0; k < inp.n; k++) (ds.split[inp.rows[k]] === 1 ? valid : test).push(k);
  const cut = Math.floor(valid.length * ADJUSTER_FIT_FRACTION);
  const part = { fit: valid.slice(0, cut), stop: valid.slice(cut), test };
  const params: GbdtParams = { ...ADJUSTER_GBDT_PARAMS, threads: 1, ...o.params };

  const y = (k: number, g: number) => ds.y[inp.rows[k] * G + g];
  const where = (ks: number[], g: number, treated: boolean) => {
    const a = ACTIONS.indexOf(OFFER_ACTIONS[g]);
    return ks.filter((k) => y(k, g) !== Y_MISSING && (ds.action[inp.rows[k]] === a) === treated);
  };
  const data = (ks: number[], g: number, weighted: boolean): GbdtData => ({
    x: pick(inp.x, ks),
    y: Uint8Array.from(ks, (k) => y(k, g)),
    n: ks.length,
    f: ADJUSTER_WIDTH,
    ...(weighted ? { weights: ipwWeights(Float64Array.from(ks, (k) => ds.propensity[inp.rows[k]]), { clip: IPW_CLIP, normalise: true }) } : {}),
  });
  const fit = (name: string, tr: GbdtData, va: GbdtData): TreeTarget => {
    if (tr.n === 0 || va.n === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `adjuster ${name}: no matured rows in the validation split to fit (${tr.n}) or stop and calibrate (${va.n}) on; the world is too short or too small`);
    const model = trainGbdt(tr, params, va);
    const platt = fitPlatt(predictMargin(model, va.x, va.n), va.y);
    log?.info({ model: name, rows: tr.n, valid: va.n, trees: model.trees.length, seconds: +model.trainSeconds.toFixed(2), platt }, 'adjuster tree model trained');
    return { model, platt };
  };

  const uptake: TreeTarget[] = [];
  const baseT: TreeTarget[] = [];
  const positives: Record<string, number> = {};
  let fitRows = 0;
  let stopRows = 0;
  for (let g = 0; g < G; g++) {
    const tFit = where(part.fit, g, true);
    const cFit = where(part.fit, g, false);
    const tStop = where(part.stop, g, true);
    const cStop = where(part.stop, g, false);
    uptake.push(fit(`uptake_${OFFER_ACTIONS[g]}`, data(tFit, g, true), data(tStop, g, false)));
    baseT.push(fit(`base_${OFFER_ACTIONS[g]}`, data(cFit, g, false), data(cStop, g, false)));
    positives[OFFER_ACTIONS[g]] = tFit.reduce((s, k) => s + y(k, g), 0);
    fitRows += tFit.length + cFit.length;
    stopRows += tStop.length + cStop.length;
  }

  const dataHash = createHash('sha256').update(base.manifest.version);
  for (const a of [inp.x, Uint8Array.from(inp.rows, (r) => ds.action[r]), Float64Array.from(inp.rows, (r) => ds.propensity[r]), Uint8Array.from(inp.rows, (r) => ds.split[r])]) dataHash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  for (let k = 0; k < inp.n; k++) dataHash.update(ds.y.subarray(inp.rows[k] * G, (inp.rows[k] + 1) * G));
  const hash = dataHash.digest('hex').slice(0, 16);
  const version = `adjuster-${o.asOf}-${createHash('sha256').update(hash).update(ADJUSTER_FEATURE_SET_HASH).update(JSON.stringify(params)).digest('hex').slice(0, 8)}`;
  const targets = [...uptake, ...baseT];
  const outputs = upliftOutputs(ACTIONS);
  const onnxBytes = exportTreeEnsembleOnnx(targets, { modelVersion: version, featureSetHash: ADJUSTER_FEATURE_SET_HASH, outputNames: outputs, metadata: { base_model_version: base.manifest.version } });

  // Test split: parity of the graph with the trainer, then the graph's own outputs are measured.
  const testX = pick(inp.x, part.test);
  const ortOut = await checkParity(onnxBytes, targets, testX, part.test.length, o.ortThreads);
  const T = targets.length;
  const metrics: Record<string, HeadMetrics> = {};
  const comparison: AdjusterComparison[] = [];
  for (let g = 0; g < G; g++) {
    const action = OFFER_ACTIONS[g];
    const a = ACTIONS.indexOf(action);
    const at: number[] = []; // positions in part.test
    part.test.forEach((k, i) => {
      if (y(k, g) !== Y_MISSING) at.push(i);
    });
    const rowOf = (i: number) => inp.rows[part.test[i]];
    const common = {
      treated: Uint8Array.from(at, (i) => (ds.action[rowOf(i)] === a ? 1 : 0)),
      y: Uint8Array.from(at, (i) => y(part.test[i], g)),
      propensity: Float64Array.from(at, (i) => ds.propensity[rowOf(i)]),
      clip: IPW_CLIP,
    };
    const adj = evaluateUplift({ ...common, uptake: Float64Array.from(at, (i) => ortOut[i * T + g]), base: Float64Array.from(at, (i) => ortOut[i * T + G + g]) });
    const pre = evaluateUplift({ ...common, uptake: Float64Array.from(at, (i) => testX[i * ADJUSTER_WIDTH + g]), base: Float64Array.from(at, (i) => testX[i * ADJUSTER_WIDTH + G + g]) });
    metrics[action] = { auc: adj.auc, logloss: adj.logloss, ece: adj.ece, rows: adj.rows_treated, positives: adj.positives_treated, auuc: adj.auuc, qini: adj.qini, calibration: 'platt' };
    const fig = (e: typeof adj) => ({ auc: e.auc, logloss: e.logloss, ece: e.ece, auuc: e.auuc });
    comparison.push({ action, rows: adj.rows_treated, positives: adj.positives_treated, adjusted: fig(adj), precomputed: fig(pre) });
    log?.info({ action, test_offered: adj.rows_treated, adjusted: fig(adj), precomputed: fig(pre) }, 'adjuster evaluated against the precomputed scores');
  }

  const when = (k: number[], end: boolean) => (k.length === 0 ? o.asOf : new Date(ds.ts[inp.rows[k[end ? k.length - 1 : 0]]]).toISOString().slice(0, 10));
  const manifest: ModelManifest = {
    version,
    kind: ADJUSTER_KIND,
    created_at: new Date().toISOString(),
    actions: [...OFFER_ACTIONS],
    outputs,
    features: [...ADJUSTER_FEATURES],
    feature_set_hash: ADJUSTER_FEATURE_SET_HASH,
    training: {
      as_of: o.asOf,
      window_start: when(valid, false),
      window_end: when(test, true),
      rows: inp.n,
      positives_per_action: positives,
      data_hash: hash,
      label_windows_s: { ...o.windows },
      train_rows: fitRows,
      valid_rows: stopRows,
      test_rows: part.test.length,
      test_window: { start: when(test, false), end: when(test, true) },
    },
    metrics,
    base_model_version: base.manifest.version,
    onnx_sha256: sha256Hex(onnxBytes),
  };
  try {
    await saveModel(adjusterRegistryDir(o.modelsDir), manifest, onnxBytes);
  } catch (e) {
    // Same data, base model and settings give the same version: an existing one is this model.
    if (!(e instanceof PaydecideError && /exist/i.test(e.message))) throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  log?.info({ model: version, base_model: base.manifest.version, seconds: +seconds.toFixed(2) }, 'adjuster trained');
  return { manifest, onnxBytes, dataset: summary, comparison, seconds, ...(o.keepInputs ? { inputs: inp, targets } : {}) };
}

/** The exported graph must reproduce the trainer to 1e-5 on every test row; returns ORT's outputs. */
async function checkParity(onnxBytes: Uint8Array, targets: TreeTarget[], x: Float32Array, n: number, threads: number): Promise<Float32Array> {
  const own = predictTargets(targets, x, n);
  if (n === 0) return own;
  const scorer = await OnnxScorer.load(onnxBytes, { threads });
  try {
    const out = await scorer.score(x, n);
    const T = targets.length;
    for (let i = 0; i < out.length; i++) {
      if (!(Math.abs(out[i] - own[i]) <= 1e-5)) throw new PaydecideError(ErrorCodes.MODEL_INVALID, `adjuster ONNX output ${Math.floor(i / T)},${i % T} differs from the trainer: ${out[i]} vs ${own[i]}`);
    }
    return out;
  } finally {
    await scorer.close();
  }
}

export interface TrainAndPromoteAdjusterResult extends TrainedAdjuster {
  promoted: boolean;
  /** Why the candidate was refused (empty when promoted), or why it replaced the live adjuster unchecked. */
  reasons: string[];
  previous: string | null;
}

/**
 * Promotes a registered adjuster through models/promote.ts. Compared with the live adjuster only
 * when both were trained over the same uplift model: one over another uplift model adjusts
 * scores it was not trained on, so it is replaced without comparison (as is a missing or
 * unreadable live adjuster); a refused candidate leaves the live adjuster current.
 */
export async function promoteAdjuster(cfg: Pick<Config, 'modelsDir' | 'promotion'>, candidate: ModelManifest, o: { force?: boolean; logger?: Logger } = {}): Promise<{ promoted: boolean; reasons: string[]; previous: string | null }> {
  const dir = adjusterRegistryDir(cfg.modelsDir);
  let live: ModelManifest | null = null;
  try {
    live = (await loadCurrent(dir)).manifest;
  } catch (e) {
    if (!(e instanceof PaydecideError && (e.code === ErrorCodes.NO_MODEL || e.code === ErrorCodes.MODEL_INVALID))) throw e;
  }
  const stale = live !== null && (live.kind !== candidate.kind || live.base_model_version !== candidate.base_model_version);
  try {
    const r = await promoteModel(dir, candidate.version, cfg.promotion, { force: o.force === true || stale || live === null });
    o.logger?.info({ adjuster: candidate.version, previous: r.previous, promoted: r.promoted, forced: r.forced, replaced_stale: stale }, 'adjuster promotion');
    const reasons = stale ? [`live adjuster ${live!.version} was trained over uplift model ${live!.base_model_version ?? '(unknown)'}, not ${candidate.base_model_version}`] : r.forced ? r.verdict.reasons : [];
    return { promoted: true, reasons, previous: r.previous };
  } catch (e) {
    if (!(e instanceof PaydecideError && e.code === ErrorCodes.PROMOTION_REFUSED)) throw e;
    o.logger?.warn({ adjuster: candidate.version, live: live?.version, reason: e.message }, 'candidate adjuster refused; the live adjuster stays');
    const reasons = (e.details as { verdict?: { reasons?: string[] } } | undefined)?.verdict?.reasons ?? [e.message];
    return { promoted: false, reasons, previous: live?.version ?? null };
  }
}

/** Trains an adjuster over the current uplift model and promotes it when the rules allow. */
export async function trainAndPromoteAdjuster(
  cfg: Config,
  o: { dataDir: string; asOf: string; decisions?: string[]; outcomes?: string[]; logger?: Logger; force?: boolean; params?: GbdtParams; keepInputs?: boolean },
): Promise<TrainAndPromoteAdjusterResult> {
  const trained = await trainAdjuster({
    dataDir: o.dataDir,
    asOf: o.asOf,
    ...trainSettings(cfg),
    decisions: o.decisions,
    outcomes: o.outcomes,
    logger: o.logger,
    params: o.params,
    keepInputs: o.keepInputs,
  });
  const r = await promoteAdjuster(cfg, trained.manifest, { force: o.force, logger: o.logger });
  return { ...trained, ...r };
}
