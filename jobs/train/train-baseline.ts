/**
 * Trains the baseline model: one L2 logistic regression per action on matured outcomes of the
 * logged decisions, with the features of a snapshot taken before every training decision
 * (point-in-time), exported as one ONNX graph with a head per action, checked in ONNX Runtime
 * against the trainer's own predictions, and saved to the model registry as current.
 */
import { addDays } from '../../core/dates';
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACTIONS } from '../../core/actions';
import { ATTRIBUTION_WINDOW_SECONDS } from '../../core/attribution';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { evaluateBinary } from '../../models/metrics';
import { predict, trainLogisticRegression, type LogisticModel } from '../../models/logistic-regression';
import { exportLinearSigmoidOnnx, stackHeads } from '../../models/onnx-export';
import { OnnxScorer } from '../../models/onnx-scorer';
import { saveModel, setCurrent, sha256Hex, type ModelManifest } from '../../models/registry';
import { closeDuckDB, fillTemplate, loadSql, openDuckDB, type DuckOptions } from '../duckdb';
import { asInputError, computeSnapshot, parquetScan } from '../features/feature-snapshot';
import { readWorldManifest, worldFiles } from '../world';

export interface TrainBaselineOptions {
  dataDir: string;
  asOf: string;
  modelsDir: string;
  duck: DuckOptions;
  ortThreads: number;
  logger?: Logger;
  /** Features are taken as of this many days before `asOf`; decisions after that date train. @defaultValue 45 */
  lagDays?: number;
  /** Share of the latest decisions (time-ordered) held out for metrics. @defaultValue 0.2 */
  holdout?: number;
  /** Largest training set per head (the most recent rows are kept). @defaultValue 200000 */
  maxRowsPerHead?: number;
}


interface TrainingSet {
  n: number;
  action: Uint8Array;
  label: Uint8Array;
  x: Float32Array;
}

async function readTrainingSet(conn: DuckDBConnection): Promise<TrainingSet> {
  const res = await conn.run(
    `SELECT CASE t.action ${ACTIONS.map((a, i) => `WHEN '${a}' THEN ${i}`).join(' ')} END::UTINYINT AS a, t.label,
            s.x
     FROM train_rows t JOIN snapshot s USING (user_id)
     ORDER BY t.decision_ts, t.decision_id`,
  );
  const parts: { a: Uint8Array; y: Uint8Array; x: Float32Array }[] = [];
  let n = 0;
  for (;;) {
    const c = await res.fetchChunk();
    if (!c || c.rowCount === 0) break;
    const rows = c.rowCount;
    const a = new Uint8Array(rows);
    const y = new Uint8Array(rows);
    const av = c.getColumnVector(0);
    const yv = c.getColumnVector(1);
    for (let i = 0; i < rows; i++) {
      a[i] = av.getItem(i) as number;
      y[i] = yv.getItem(i) as number;
    }
    const items = (c.getColumnVector(2) as unknown as { childData: { items: Float32Array } }).childData.items;
    parts.push({ a, y, x: items.slice(0, rows * FEATURE_COUNT) });
    n += rows;
  }
  const out: TrainingSet = { n, action: new Uint8Array(n), label: new Uint8Array(n), x: new Float32Array(n * FEATURE_COUNT) };
  let off = 0;
  for (const p of parts) {
    out.action.set(p.a, off);
    out.label.set(p.y, off);
    out.x.set(p.x, off * FEATURE_COUNT);
    off += p.a.length;
  }
  return out;
}

function subset(ts: TrainingSet, idx: number[]): { x: Float32Array; y: Uint8Array } {
  const x = new Float32Array(idx.length * FEATURE_COUNT);
  const y = new Uint8Array(idx.length);
  idx.forEach((r, i) => {
    x.set(ts.x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), i * FEATURE_COUNT);
    y[i] = ts.label[r];
  });
  return { x, y };
}

export async function trainBaseline(o: TrainBaselineOptions): Promise<ModelManifest> {
  const log = o.logger;
  const world = readWorldManifest(o.dataDir);
  if (o.asOf > world.date || o.asOf <= world.start_date) {
    throw new PaydecideError(ErrorCodes.UNKNOWN_DATE, `--date ${o.asOf} is outside the world's data (${world.start_date} .. ${world.date})`);
  }
  const lag = o.lagDays ?? 45;
  let featureDate = addDays(o.asOf, -lag);
  if (featureDate <= world.start_date) featureDate = addDays(world.start_date, 1);
  const d = await openDuckDB(o.duck);
  let ts: TrainingSet;
  try {
    const files = {
      users: worldFiles(o.dataDir, world, 'users'),
      payments: worldFiles(o.dataDir, world, 'payments'),
      decisions: worldFiles(o.dataDir, world, 'decision_log'),
      outcomes: worldFiles(o.dataDir, world, 'outcomes'),
    };
    await computeSnapshot(d.conn, files, featureDate);
    const w = ATTRIBUTION_WINDOW_SECONDS;
    try {
      await d.conn.run(fillTemplate(loadSql('training/baseline-labels'), { decisions: parquetScan(files.decisions), outcomes: parquetScan(files.outcomes) }), {
        as_of: o.asOf,
        from: featureDate,
        w_cashback: w.cashback,
        w_referral_prompt: w.referral_prompt,
        w_autopay_setup: w.autopay_setup,
        w_card_on_file: w.card_on_file,
        w_installment_offer: w.installment_offer,
        w_none: w.none,
      });
    } catch (e) {
      throw asInputError(e);
    }
    ts = await readTrainingSet(d.conn);
  } finally {
    closeDuckDB(d);
  }
  log?.info({ rows: ts.n, featureDate, asOf: o.asOf }, 'training set built');
  if (ts.n === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `no matured decisions between ${featureDate} and ${o.asOf} to train on`);

  const holdout = o.holdout ?? 0.2;
  const maxRows = o.maxRowsPerHead ?? 200_000;
  const models: LogisticModel[] = [];
  const metrics: ModelManifest['metrics'] = {};
  const positives: Record<string, number> = {};
  const evalRows: { x: Float32Array; n: number }[] = [];
  for (let a = 0; a < ACTIONS.length; a++) {
    const rows: number[] = [];
    for (let i = 0; i < ts.n; i++) if (ts.action[i] === a) rows.push(i);
    const cut = Math.floor(rows.length * (1 - holdout));
    const trainIdx = rows.slice(Math.max(0, cut - maxRows), cut);
    const testIdx = rows.slice(cut);
    const tr = subset(ts, trainIdx);
    const te = subset(ts, testIdx);
    const t0 = performance.now();
    const m = trainLogisticRegression(tr.x, tr.y, FEATURE_COUNT, { l2: 1e-3, maxIter: 30, tol: 1e-6, hessianRows: 20_000 });
    models.push(m);
    const p = predict(m, te.x, testIdx.length);
    const ev = evaluateBinary(p, te.y);
    metrics[ACTIONS[a]] = { auc: Number.isFinite(ev.auc) ? ev.auc : null, logloss: ev.logloss, ece: ev.ece, rows: testIdx.length, positives: te.y.reduce((s, v) => s + v, 0) };
    positives[ACTIONS[a]] = tr.y.reduce((s, v) => s + v, 0);
    evalRows.push({ x: te.x, n: testIdx.length });
    log?.info({ action: ACTIONS[a], train: trainIdx.length, test: testIdx.length, auc: ev.auc, seconds: (performance.now() - t0) / 1000 }, 'head trained');
  }

  const dataHash = createHash('sha256').update(JSON.stringify(world.sha256)).update(o.asOf).digest('hex').slice(0, 16);
  // same data, date and feature list give the same version (and the same model)
  const version = `lr-${o.asOf}-${createHash('sha256').update(dataHash).update(FEATURE_SET_HASH).digest('hex').slice(0, 8)}`;
  const heads = stackHeads(models, [...ACTIONS]);
  const onnxBytes = exportLinearSigmoidOnnx(heads, { modelVersion: version, featureSetHash: FEATURE_SET_HASH });

  // The exported graph must reproduce the trainer: compare on every held-out row of every head.
  const scorer = await OnnxScorer.load(onnxBytes, { threads: o.ortThreads });
  try {
    for (let a = 0; a < ACTIONS.length; a++) {
      const { x, n } = evalRows[a];
      if (n === 0) continue;
      const onnxOut = await scorer.score(x, n);
      const own = predict(models[a], x, n);
      for (let i = 0; i < n; i++) {
        if (Math.abs(onnxOut[i * ACTIONS.length + a] - own[i]) > 1e-5) {
          throw new PaydecideError(ErrorCodes.MODEL_INVALID, `ONNX head ${ACTIONS[a]} differs from the trainer on row ${i}: ${onnxOut[i * ACTIONS.length + a]} vs ${own[i]}`);
        }
      }
    }
  } finally {
    await scorer.close();
  }

  const manifest: ModelManifest = {
    version,
    kind: 'baseline-lr',
    created_at: new Date().toISOString(),
    actions: [...ACTIONS],
    features: [...FEATURE_NAMES],
    feature_set_hash: FEATURE_SET_HASH,
    training: { as_of: o.asOf, window_start: featureDate, window_end: o.asOf, rows: ts.n, positives_per_action: positives, data_hash: dataHash },
    metrics,
    onnx_sha256: sha256Hex(onnxBytes),
  };
  try {
    await saveModel(o.modelsDir, manifest, onnxBytes);
  } catch (e) {
    // Same data, date and feature list give the same version: an existing one is the same model.
    if (!(e instanceof PaydecideError && /exist/i.test(e.message))) throw e;
  }
  await setCurrent(o.modelsDir, version);
  return manifest;
}
