/**
 * `dataset build`: the point-in-time training set of an as-of date written for people who train
 * elsewhere — `<out>/dataset.parquet` (README "Training sets" documents its columns) and
 * `<out>/dataset.json` (rows, splits, windows, snapshot dates, columns, sha256 of the Parquet
 * file), to a directory or s3://bucket/prefix. The Parquet file is written first and the JSON
 * last, so a reader that finds the JSON finds the data it describes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../core/config';
import { FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { sha256File } from '../../core/object-store';
import { openObjectStore } from '../../core/open-object-store';
import { closeDuckDB, openDuckDB } from '../duckdb';
import { readWorldManifest } from '../world';
import { buildDatasetTable, datasetColumns, worldSliceFiles, writeDatasetParquet, type DatasetSummary } from './build-dataset';

export const DATASET_FILE = 'dataset.parquet';
export const DATASET_MANIFEST = 'dataset.json';

export interface DatasetBuildOptions {
  dataDir: string;
  asOf: string;
  out: string;
  /** Decision-log / outcome Parquet files in the documented schema, instead of the world's. */
  decisions?: string[];
  outcomes?: string[];
  snapshotEveryDays?: number;
  logger?: Logger;
}

export interface DatasetBuildResult extends DatasetSummary {
  out: string;
  bytes: number;
  sha256: string;
}

export async function buildDatasetFiles(cfg: Config, o: DatasetBuildOptions): Promise<DatasetBuildResult> {
  const world = readWorldManifest(o.dataDir);
  const files = worldSliceFiles(o.dataDir, world, o);
  const store = openObjectStore(o.out, cfg.s3);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-dataset-'));
  try {
    await store.check();
    const file = path.join(tmp, DATASET_FILE);
    const d = await openDuckDB({ threads: cfg.duckdbThreads, memory: cfg.duckdbMemory });
    let summary: DatasetSummary;
    try {
      summary = await buildDatasetTable(d.conn, files, { asOf: o.asOf, windows: cfg.attributionWindows, dataStart: world.start_date, snapshotEveryDays: o.snapshotEveryDays, logger: o.logger });
      await writeDatasetParquet(d.conn, file);
    } finally {
      closeDuckDB(d);
    }
    const bytes = fs.statSync(file).size;
    const sha256 = await sha256File(file);
    const manifest = {
      format: 1,
      as_of: o.asOf,
      created_at: new Date().toISOString(),
      file: DATASET_FILE,
      bytes,
      sha256,
      rows: summary.rows,
      dropped_before_first_snapshot_or_unknown_user: summary.droppedNoSnapshot,
      splits: summary.splits,
      labels_per_action: summary.labelsPerAction,
      snapshot_dates: summary.snapshotDates,
      attribution_windows_s: cfg.attributionWindows,
      attribution: 'last touch: a goal event belongs to the latest decision before it whose window for that goal covers it',
      feature_set_hash: FEATURE_SET_HASH,
      features: FEATURE_NAMES.map((f) => `f_${f}`),
      columns: datasetColumns(),
      sources: { decisions: files.decisions.length, outcomes: files.outcomes.length },
    };
    await store.putFile(DATASET_FILE, file);
    await store.put(DATASET_MANIFEST, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    return { ...summary, out: store.url.startsWith('s3://') ? `${store.url.replace(/\/$/, '')}/${DATASET_FILE}` : path.join(store.url, DATASET_FILE), bytes, sha256 };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    store.close();
  }
}
