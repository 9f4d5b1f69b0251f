/**
 * Trains the growth models: per offer action a T-learner of two gradient-boosted tree models
 * on the point-in-time training set (jobs/dataset) —
 *   uptake_a = P(goal a | offered a, x)  on decisions that offered a, weighted by 1 / logged
 *              propensity (clipped) so the logging policy's preferences do not bias the fit;
 *   base_a   = P(goal a | not offered a, x) on every other decision (the goal's baseline: the
 *              other offers do not move goal a);
 * estimated uplift = uptake − base. Both are Platt-calibrated on the validation split, exported
 * as ONE ONNX tree ensemble (10 outputs), checked in ONNX Runtime against the trainer on every
 * test row, evaluated on the test split (never trained or calibrated on), saved to the registry
 * and promoted when it is not worse than the live model (models/promotion.ts).
 */
import type { Config } from '../../core/config';
import { createHash } from 'node:crypto';
import { ACTIONS, OFFER_ACTIONS, type Action } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { applyPlatt, fitPlatt } from '../../models/calibration';
import { predictMargin, trainGbdt, type GbdtData, type GbdtModel, type GbdtParams } from '../../models/gbdt';
import { ipwWeights } from '../../models/ipw';
import { UPLIFT_GBDT_PARAMS } from '../../models/uplift-params';
import { exportTreeEnsembleOnnx, predictTargets, type TreeTarget } from '../../models/onnx-tree-export';
import { OnnxScorer } from '../../models/onnx-scorer';
import { saveModel, sha256Hex, type ModelManifest } from '../../models/registry';
import { evaluateUplift } from '../../models/uplift-evaluation';
import { closeDuckDB, openDuckDB, type DuckOptions } from '../duckdb';
import { buildDatasetTable, readDatasetArrays, worldSliceFiles, Y_MISSING, type DatasetArrays, type DatasetSummary } from '../dataset/build-dataset';
import { readWorldManifest } from '../world';

export { UPLIFT_GBDT_PARAMS };

/** Inverse-propensity weights are clipped here: a 1% propensity would otherwise let one row weigh 100. */
export const IPW_CLIP = 20;

/** What a training run takes from the process config (uplift models and the adjuster alike). */
export function trainSettings(cfg: Config): Pick<TrainUpliftOptions, 'modelsDir' | 'duck' | 'ortThreads' | 'windows'> {
  return { modelsDir: cfg.modelsDir, duck: { threads: cfg.duckdbThreads, memory: cfg.duckdbMemory }, ortThreads: cfg.ortThreads, windows: cfg.attributionWindows };
}

export interface TrainUpliftOptions {
  dataDir: string;
  asOf: string;
  modelsDir: string;
  duck: DuckOptions;
  ortThreads: number;
  windows: Readonly<Record<Action, number>>;
  logger?: Logger;
  params?: GbdtParams;
  /** Most training rows per model (the most recent are kept). @defaultValue 400000 */
  maxTrainRows?: number;
}

export interface UpliftModels {
  /** Per offer action (OFFER_ACTIONS order): uptake and base targets. */
  uptake: TreeTarget[];
  base: TreeTarget[];
}

export interface TrainedUplift {
  manifest: ModelManifest;
  onnxBytes: Uint8Array;
  dataset: DatasetSummary;
}

function rowsWhere(d: DatasetArrays, g: number, treated: boolean, split: number): number[] {
  const G = OFFER_ACTIONS.length;
  const a = ACTIONS.indexOf(OFFER_ACTIONS[g]);
  const out: number[] = [];
  for (let i = 0; i < d.n; i++) {
    if (d.split[i] !== split || d.y[i * G + g] === Y_MISSING) continue;
    if ((d.action[i] === a) === treated) out.push(i);
  }
  return out;
}

function take(d: DatasetArrays, idx: number[], g: number, weights?: Float64Array): GbdtData {
  const G = OFFER_ACTIONS.length;
  const x = new Float32Array(idx.length * FEATURE_COUNT);
  const y = new Uint8Array(idx.length);
  idx.forEach((r, i) => {
    x.set(d.x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), i * FEATURE_COUNT);
    y[i] = d.y[r * G + g];
  });
  return { x, y, n: idx.length, f: FEATURE_COUNT, ...(weights ? { weights } : {}) };
}

function ipw(d: DatasetArrays, idx: number[]): Float64Array {
  return ipwWeights(Float64Array.from(idx, (r) => d.propensity[r]), { clip: IPW_CLIP, normalise: true });
}

function fit(name: string, train: GbdtData, valid: GbdtData, params: GbdtParams, log?: Logger): { model: GbdtModel; platt: { a: number; b: number } } {
  if (train.n === 0 || valid.n === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${name}: no matured rows to train (${train.n}) or validate (${valid.n}) on; the world is too short or too small`);
  const model = trainGbdt(train, params, valid);
  const platt = fitPlatt(predictMargin(model, valid.x, valid.n), valid.y);
  log?.info({ model: name, rows: train.n, valid: valid.n, trees: model.trees.length, seconds: +model.trainSeconds.toFixed(2), platt }, 'tree model trained');
  return { model, platt };
}

/** The dataset's content hash: what the manifest's data_hash names. */
function datasetHash(d: DatasetArrays): string {
  const h = createHash('sha256');
  for (const a of [d.ts, d.action, d.propensity, d.label, d.y, d.split, d.x]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 16);
}

/** Trains, exports and checks the uplift models; saves them as a new registry version (not promoted here). */
export async function trainUplift(o: TrainUpliftOptions): Promise<TrainedUplift> {
  const log = o.logger;
  const world = readWorldManifest(o.dataDir);
  if (o.asOf > world.date || o.asOf <= world.start_date) {
    throw new PaydecideError(ErrorCodes.UNKNOWN_DATE, `--date ${o.asOf} is outside the world's data (${world.start_date} .. ${world.date})`);
  }
  const d = await openDuckDB(o.duck);
  let ds: DatasetArrays;
  let summary: DatasetSummary;
  try {
    const files = worldSliceFiles(o.dataDir, world);
    summary = await buildDatasetTable(d.conn, files, { asOf: o.asOf, windows: o.windows, dataStart: world.start_date, logger: log });
    ds = await readDatasetArrays(d.conn);
  } finally {
    closeDuckDB(d);
  }
  log?.info({ rows: ds.n, splits: summary.splits }, 'training set built');
  // two histogram threads: training runs before the chunk threads start, alone on the machine
  const params = { ...UPLIFT_GBDT_PARAMS, threads: 2, ...o.params };
  const maxRows = o.maxTrainRows ?? 400_000;
  const recent = (idx: number[]) => idx.slice(Math.max(0, idx.length - maxRows));

  const uptake: TreeTarget[] = [];
  const base: TreeTarget[] = [];
  const metrics: ModelManifest['metrics'] = {};
  const positives: Record<string, number> = {};
  const testRows = new Set<number>();
  let trainRows = 0;
  let validRows = 0;
  for (let g = 0; g < OFFER_ACTIONS.length; g++) {
    const action = OFFER_ACTIONS[g];
    const tTrain = recent(rowsWhere(ds, g, true, 0));
    const tValid = rowsWhere(ds, g, true, 1);
    const cTrain = recent(rowsWhere(ds, g, false, 0));
    const cValid = rowsWhere(ds, g, false, 1);
    const up = fit(`uptake_${action}`, take(ds, tTrain, g, ipw(ds, tTrain)), take(ds, tValid, g), params, log);
    const bs = fit(`base_${action}`, take(ds, cTrain, g), take(ds, cValid, g), params, log);
    uptake.push(up);
    base.push(bs);
    trainRows += tTrain.length + cTrain.length;
    validRows += tValid.length + cValid.length;

    // Test split (never trained or calibrated on): uptake quality on offered rows, uplift ranking on all.
    const tTest = rowsWhere(ds, g, true, 2);
    const cTest = rowsWhere(ds, g, false, 2);
    for (const r of tTest) testRows.add(r);
    for (const r of cTest) testRows.add(r);
    const all = [...tTest, ...cTest];
    const at = take(ds, all, g);
    const ev = evaluateUplift({
      uptake: applyPlatt(up.platt, predictMargin(up.model, at.x, at.n)),
      base: applyPlatt(bs.platt, predictMargin(bs.model, at.x, at.n)),
      treated: Uint8Array.from(all, (_, i) => (i < tTest.length ? 1 : 0)),
      y: Uint8Array.from(at.y),
      propensity: Float64Array.from(all, (r) => ds.propensity[r]),
      clip: IPW_CLIP,
    });
    metrics[action] = { auc: ev.auc, logloss: ev.logloss, ece: ev.ece, rows: ev.rows_treated, positives: ev.positives_treated, auuc: ev.auuc, qini: ev.qini, calibration: 'platt' };
    positives[action] = tTrain.reduce((acc, r) => acc + ds.y[r * OFFER_ACTIONS.length + g], 0);
    log?.info({ action, test_treated: tTest.length, test_control: cTest.length, auc: ev.auc, ece: ev.ece, auuc: ev.auuc }, 'uplift models evaluated');
  }

  const dataHash = datasetHash(ds);
  const version = `uplift-${o.asOf}-${createHash('sha256').update(dataHash).update(FEATURE_SET_HASH).update(JSON.stringify(params)).digest('hex').slice(0, 8)}`;
  const targets = [...uptake, ...base];
  const outputs = [...OFFER_ACTIONS.map((a) => `uptake_${a}`), ...OFFER_ACTIONS.map((a) => `base_${a}`)];
  const onnxBytes = exportTreeEnsembleOnnx(targets, { modelVersion: version, featureSetHash: FEATURE_SET_HASH, outputNames: outputs });
  await checkParity(onnxBytes, targets, ds, [...testRows].sort((a, b) => a - b), o.ortThreads);

  const splitWindow = (k: 'train' | 'test') => summary.splits[k];
  const manifest: ModelManifest = {
    version,
    kind: 'gbdt-uplift',
    created_at: new Date().toISOString(),
    actions: [...OFFER_ACTIONS],
    outputs,
    features: [...FEATURE_NAMES],
    feature_set_hash: FEATURE_SET_HASH,
    training: {
      as_of: o.asOf,
      window_start: (splitWindow('train').start ?? o.asOf).slice(0, 10),
      window_end: (splitWindow('test').end ?? o.asOf).slice(0, 10),
      rows: ds.n,
      positives_per_action: positives,
      data_hash: dataHash,
      label_windows_s: { ...o.windows },
      train_rows: trainRows,
      valid_rows: validRows,
      test_rows: testRows.size,
      test_window: { start: (splitWindow('test').start ?? '').slice(0, 10), end: (splitWindow('test').end ?? '').slice(0, 10) },
    },
    metrics,
    onnx_sha256: sha256Hex(onnxBytes),
  };
  try {
    await saveModel(o.modelsDir, manifest, onnxBytes);
  } catch (e) {
    // Same data, date, features and settings give the same version: an existing one is this model.
    if (!(e instanceof PaydecideError && /exist/i.test(e.message))) throw e;
  }
  return { manifest, onnxBytes, dataset: summary };
}

/** The exported graph must reproduce the trainer to 1e-5 on every test row. */
async function checkParity(onnxBytes: Uint8Array, targets: TreeTarget[], ds: DatasetArrays, rows: number[], threads: number): Promise<void> {
  if (rows.length === 0) return;
  const x = new Float32Array(rows.length * FEATURE_COUNT);
  rows.forEach((r, i) => x.set(ds.x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), i * FEATURE_COUNT));
  const own = predictTargets(targets, x, rows.length);
  const scorer = await OnnxScorer.load(onnxBytes, { threads });
  try {
    const out = await scorer.score(x, rows.length);
    for (let i = 0; i < out.length; i++) {
      if (!(Math.abs(out[i] - own[i]) <= 1e-5)) {
        const T = targets.length;
        throw new PaydecideError(ErrorCodes.MODEL_INVALID, `ONNX output ${Math.floor(i / T)},${i % T} differs from the trainer: ${out[i]} vs ${own[i]}`);
      }
    }
  } finally {
    await scorer.close();
  }
}
