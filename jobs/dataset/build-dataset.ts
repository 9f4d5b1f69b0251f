/**
 * Point-in-time training sets: every matured decision of a decision log (sql/training/
 * dataset-labels.sql: last-touch labels, maturity per goal, time splits) joined to the feature
 * snapshot that was live when it was made. Snapshots are computed every `snapshotEveryDays` days
 * (as of as_of − 7, − 14, …) with the serving feature code; a decision takes the latest snapshot
 * dated on or before its own day (DuckDB ASOF JOIN): a snapshot as of D reads only rows before D,
 * so no decision ever sees data from after it. The result stays in temp table `dataset`
 * (labelled columns, snapshot_date, x FLOAT[F]) for training, or is written as Parquet with one
 * column per feature (`f_<feature>`) for people training elsewhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACTIONS, OFFER_ACTIONS, type Action } from '../../core/actions';
import { addDays } from '../../core/dates';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { fillTemplate, loadSql, quoteIdent, runWithParams, sqlString } from '../duckdb';
import { forEachChunk, numericColumn } from '../duckdb-vectors';
import { worldFiles, type WorldManifest } from '../world';
import { asInputError, computeSnapshot, parquetScan, type SliceFiles } from '../features/feature-snapshot';

/**
 * The whole world's users, payments, decision log and outcomes: what a training set reads.
 * `decisions` / `outcomes` replace the world's logs with other Parquet files or folders in the
 * documented schema (e.g. the online sink's output).
 */
export function worldSliceFiles(dataDir: string, world: WorldManifest, logs: { decisions?: string[]; outcomes?: string[] } = {}): SliceFiles {
  return {
    users: worldFiles(dataDir, world, 'users'),
    payments: worldFiles(dataDir, world, 'payments'),
    decisions: logs.decisions ? expandParquet(logs.decisions, '--decisions') : worldFiles(dataDir, world, 'decision_log'),
    outcomes: logs.outcomes ? expandParquet(logs.outcomes, '--outcomes') : worldFiles(dataDir, world, 'outcomes'),
  };
}

/** Parquet files given as files or folders (every *.parquet below a folder, sorted). */
function expandParquet(paths: string[], what: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${what}: ${p} does not exist`);
    }
    const files = st.isDirectory() ? (fs.readdirSync(p, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).map((f) => path.join(p, f)) : [p];
    if (files.length === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${what}: no .parquet file under ${p}`);
    out.push(...files.map((f) => path.resolve(f)).sort());
  }
  return out;
}

export const DATASET_SPLITS = ['train', 'valid', 'test'] as const;
export type DatasetSplit = (typeof DATASET_SPLITS)[number];

export interface DatasetOptions {
  asOf: string;
  /** Attribution window per action, seconds (core/attribution.ts or config). */
  windows: Readonly<Record<Action, number>>;
  /** First day of the data (snapshots need history before them). */
  dataStart: string;
  /** Days between feature snapshots. @defaultValue 7 */
  snapshotEveryDays?: number;
  /** Split points as fractions of the fully matured time range. @defaultValue 0.6, 0.75 */
  validFrac?: number;
  testFrac?: number;
  logger?: Logger;
}

export interface DatasetSummary {
  rows: number;
  /** Matured decisions left out: made before the first snapshot, or by a user the users files do not hold. */
  droppedNoSnapshot: number;
  snapshotDates: string[];
  splits: Record<DatasetSplit, { rows: number; start: string | null; end: string | null }>;
  labelsPerAction: Record<string, { rows: number; positives: number }>;
}

function checkOptions(o: DatasetOptions): void {
  const every = o.snapshotEveryDays ?? 7;
  if (!Number.isInteger(every) || every < 1 || every > 90) throw new PaydecideError(ErrorCodes.BAD_FLAG, `snapshot interval must be 1..90 days, got ${every}`);
  const v = o.validFrac ?? 0.6;
  const t = o.testFrac ?? 0.75;
  if (!(v > 0 && v < t && t < 1)) throw new PaydecideError(ErrorCodes.BAD_FLAG, `split fractions must satisfy 0 < valid (${v}) < test (${t}) < 1`);
  for (const a of ACTIONS) {
    const w = o.windows[a];
    if (!Number.isInteger(w) || w < 1) throw new PaydecideError(ErrorCodes.CONFIG, `attribution window of ${a} must be a positive whole number of seconds, got ${w}`);
  }
}

/** Builds temp table `dataset` from the world's (or any documented-schema) files. */
export async function buildDatasetTable(conn: DuckDBConnection, files: SliceFiles, o: DatasetOptions): Promise<DatasetSummary> {
  checkOptions(o);
  const log = o.logger;
  const w = o.windows;
  try {
    await runWithParams(conn, fillTemplate(loadSql('training/dataset-labels'), { decisions: parquetScan(files.decisions), outcomes: parquetScan(files.outcomes) }), {
      as_of: o.asOf,
      valid_frac: o.validFrac ?? 0.6,
      test_frac: o.testFrac ?? 0.75,
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
  const range = (await conn.runAndReadAll(`SELECT min(decision_ts)::DATE::VARCHAR, max(decision_ts)::DATE::VARCHAR, count(*) FROM labelled`)).getRows()[0];
  const labelled = Number(range[2]);
  if (labelled === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `no matured decisions before ${o.asOf} (every decision's attribution window is still open, or the log is empty)`);
  const first = String(range[0]);
  const last = String(range[1]);

  // Snapshot dates as_of − k·every, from the one on or before the first decision's day.
  const every = o.snapshotEveryDays ?? 7;
  const dates: string[] = [];
  for (let k = 1; ; k++) {
    const d = addDays(o.asOf, -k * every);
    if (d <= o.dataStart) break;
    if (d <= last) dates.push(d);
    if (d <= first) break;
  }
  dates.reverse();
  if (dates.length === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `no snapshot date between the data start ${o.dataStart} and the last matured decision ${last}`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE snaps (snap_ts TIMESTAMP, user_id VARCHAR, x FLOAT[${FEATURE_COUNT}])`);
  for (const [i, d] of dates.entries()) {
    const t0 = performance.now();
    await computeSnapshot(conn, files, d, { table: true });
    await conn.run(`INSERT INTO snaps SELECT ${sqlString(d)}::TIMESTAMP, user_id, x FROM snapshot`);
    log?.info({ snapshot: d, done: i + 1, total: dates.length, seconds: +((performance.now() - t0) / 1000).toFixed(2) }, 'feature snapshot for the training set');
  }
  await conn.run('DROP TABLE IF EXISTS snapshot');
  await conn.run(`CREATE OR REPLACE TEMP TABLE dataset AS
    SELECT l.*, s.snap_ts::DATE AS snapshot_date, s.x
    FROM labelled l ASOF JOIN snaps s ON l.user_id = s.user_id AND l.decision_ts >= s.snap_ts
    ORDER BY l.decision_ts, l.decision_id`);
  await conn.run('DROP TABLE snaps');

  const rows = Number((await conn.runAndReadAll('SELECT count(*) FROM dataset')).getRows()[0][0]);
  const splits = Object.fromEntries(DATASET_SPLITS.map((s) => [s, { rows: 0, start: null, end: null }])) as DatasetSummary['splits'];
  for (const r of (await conn.runAndReadAll(`SELECT split, count(*), min(decision_ts)::VARCHAR, max(decision_ts)::VARCHAR FROM dataset GROUP BY split`)).getRows()) {
    splits[r[0] as DatasetSplit] = { rows: Number(r[1]), start: String(r[2]), end: String(r[3]) };
  }
  const labelsPerAction: DatasetSummary['labelsPerAction'] = {};
  for (const r of (await conn.runAndReadAll(`SELECT action, count(*), sum(label)::BIGINT FROM dataset GROUP BY action ORDER BY action`)).getRows()) {
    labelsPerAction[String(r[0])] = { rows: Number(r[1]), positives: Number(r[2]) };
  }
  return { rows, droppedNoSnapshot: labelled - rows, snapshotDates: dates, splits, labelsPerAction };
}

/** Column list of the exported Parquet file, in order (README: "Training sets"). */
export function datasetColumns(): string[] {
  return [
    'decision_id', 'user_id', 'decision_ts', 'action', 'campaign_id', 'propensity', 'policy_version', 'surface',
    'ctx_amount_usd', 'ctx_mcc', 'ctx_channel', 'ctx_auth_outcome', 'label',
    ...OFFER_ACTIONS.map((a) => `y_${a}`), 'split', 'snapshot_date',
    ...FEATURE_NAMES.map((f) => `f_${f}`),
  ];
}

/** Writes temp table `dataset` to one Parquet file with one FLOAT column per feature. */
export async function writeDatasetParquet(conn: DuckDBConnection, file: string): Promise<void> {
  const base = datasetColumns().slice(0, -FEATURE_COUNT).map(quoteIdent).join(', ');
  const feats = FEATURE_NAMES.map((f, i) => `x[${i + 1}] AS ${quoteIdent(`f_${f}`)}`).join(', ');
  await conn.run(`COPY (SELECT ${base}, ${feats} FROM dataset ORDER BY decision_ts, decision_id) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
}

/** The dataset as typed arrays, in time order (the trainer's and the evaluator's view). */
export interface DatasetArrays {
  n: number;
  userIds: string[];
  /** Epoch milliseconds. */
  ts: Float64Array;
  /** Index into ACTIONS. */
  action: Uint8Array;
  campaignId: Int16Array;
  propensity: Float64Array;
  label: Uint8Array;
  /** n × OFFER_ACTIONS.length: 0/1, or 255 while that goal has not matured. */
  y: Uint8Array;
  /** Index into DATASET_SPLITS. */
  split: Uint8Array;
  /** 1 for decisions on the online surface, 0 for CRM. */
  online: Uint8Array;
  /** Row-major n × FEATURE_COUNT. */
  x: Float32Array;
}

export const Y_MISSING = 255;

export async function readDatasetArrays(conn: DuckDBConnection): Promise<DatasetArrays> {
  const G = OFFER_ACTIONS.length;
  const res = await conn.run(
    `SELECT user_id, epoch_ms(decision_ts)::DOUBLE AS ts,
            (CASE action ${ACTIONS.map((a, i) => `WHEN '${a}' THEN ${i}`).join(' ')} END)::DOUBLE AS a,
            campaign_id::DOUBLE, propensity::DOUBLE, label::DOUBLE,
            ${OFFER_ACTIONS.map((a) => `coalesce(y_${a}, ${Y_MISSING})::DOUBLE`).join(', ')},
            (CASE split WHEN 'train' THEN 0 WHEN 'valid' THEN 1 ELSE 2 END)::DOUBLE AS s,
            (surface = 'online')::DOUBLE AS online,
            x
     FROM dataset ORDER BY decision_ts, decision_id`,
  );
  const parts: { ids: string[]; num: Float64Array[]; x: Float32Array; rows: number }[] = [];
  const xCol = 8 + G;
  await forEachChunk(res, (c) => {
    const rows = c.rowCount;
    const idv = c.getColumnVector(0);
    const ids: string[] = new Array(rows);
    for (let i = 0; i < rows; i++) ids[i] = idv.getItem(i) as string;
    const num: Float64Array[] = [];
    for (let k = 1; k < xCol; k++) num.push(numericColumn(c, k).slice(0, rows));
    const items = (c.getColumnVector(xCol) as unknown as { childData: { items: Float32Array } }).childData.items;
    parts.push({ ids, num, x: items.slice(0, rows * FEATURE_COUNT), rows });
  });
  const n = parts.reduce((s, p) => s + p.rows, 0);
  const out: DatasetArrays = {
    n,
    userIds: new Array(n),
    ts: new Float64Array(n),
    action: new Uint8Array(n),
    campaignId: new Int16Array(n),
    propensity: new Float64Array(n),
    label: new Uint8Array(n),
    y: new Uint8Array(n * G),
    split: new Uint8Array(n),
    online: new Uint8Array(n),
    x: new Float32Array(n * FEATURE_COUNT),
  };
  let off = 0;
  for (const p of parts) {
    for (let i = 0; i < p.rows; i++) {
      const r = off + i;
      out.userIds[r] = p.ids[i];
      out.ts[r] = p.num[0][i];
      out.action[r] = p.num[1][i];
      out.campaignId[r] = p.num[2][i];
      out.propensity[r] = p.num[3][i];
      out.label[r] = p.num[4][i];
      for (let g = 0; g < G; g++) out.y[r * G + g] = p.num[5 + g][i];
      out.split[r] = p.num[5 + G][i];
      out.online[r] = p.num[6 + G][i];
    }
    out.x.set(p.x, off * FEATURE_COUNT);
    off += p.rows;
  }
  return out;
}
