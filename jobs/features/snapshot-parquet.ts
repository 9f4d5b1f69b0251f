/**
 * Writes a chunk's feature snapshot as Parquet, one file per bucket under `<dir>/bucket=K/`:
 * `user_id`, then one FLOAT column per feature named as in the registry, in registry order (then,
 * when given, one FLOAT `score_<action>` per action, and `uplift_<action>` likewise), with
 * the feature names and feature-set hash in the file's key-value metadata. The row-major matrix
 * is transposed bucket by bucket into one reused column-major buffer (row by row: every source
 * row read once, in order) and written by parquet-writer.ts (plain, uncompressed: the features
 * barely compress).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ACTIONS } from '../../core/actions';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import { writeParquetFile, type ParquetColumn } from './parquet-writer';

export interface SnapshotRows {
  n: number;
  userIds: string[];
  buckets: Uint32Array;
  /** Row-major n × FEATURE_COUNT. */
  x: Float32Array;
  /** Row-major n × ACTIONS.length: the night's scores, written as `score_<action>` after the features (what audiences read). */
  scores?: Float32Array;
  /** Row-major n × ACTIONS.length: estimated uplifts, written as `uplift_<action>` after the scores. */
  uplift?: Float32Array;
}

/**
 * Writes `<dir>/bucket=K/<tag>_0.parquet` for every bucket K among the rows (a rerun of the
 * chunk overwrites its own files and nothing else). Each file appears whole or not at all
 * (written under a temporary name, then renamed). Returns the bytes written.
 */
export function writeSnapshotParquet(dir: string, tag: string, m: SnapshotRows): number {
  const F = FEATURE_COUNT;
  const byBucket = new Map<number, number[]>();
  for (let i = 0; i < m.n; i++) {
    const b = m.buckets[i];
    let rows = byBucket.get(b);
    if (!rows) byBucket.set(b, (rows = []));
    rows.push(i);
  }
  const kv = { feature_set_hash: FEATURE_SET_HASH, feature_names: FEATURE_NAMES.join(',') };
  let bytes = 0;
  // one column-major buffer, sized for the largest bucket and reused: feature j of row r at j·k + r
  const buf = new Float32Array(Math.max(0, ...[...byBucket.values()].map((r) => r.length)) * F);
  for (const [bucket, rows] of byBucket) {
    const k = rows.length;
    // row by row: each source row is read once, in order; the writes stride by k
    for (let r = 0; r < k; r++) {
      const base = rows[r] * F;
      for (let j = 0, o = r; j < F; j++, o += k) buf[o] = m.x[base + j];
    }
    const cols = Array.from({ length: F }, (_, j) => buf.subarray(j * k, (j + 1) * k));
    const columns: ParquetColumn[] = [
      { name: 'user_id', type: 'string', values: rows.map((i) => m.userIds[i]) },
      ...FEATURE_NAMES.map((name, j): ParquetColumn => ({ name, type: 'float', values: cols[j] })),
    ];
    const sc = m.scores;
    if (sc) {
      const H = ACTIONS.length;
      ACTIONS.forEach((a, h) => columns.push({ name: `score_${a}`, type: 'float', values: Float32Array.from(rows, (i) => sc[i * H + h]) }));
    }
    const up = m.uplift;
    if (up) {
      const H = ACTIONS.length;
      ACTIONS.forEach((a, h) => columns.push({ name: `uplift_${a}`, type: 'float', values: Float32Array.from(rows, (i) => up[i * H + h]) }));
    }
    const file = path.join(dir, `bucket=${bucket}`, `${tag}_0.parquet`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    bytes += writeParquetFile(tmp, columns, kv);
    fs.renameSync(tmp, file);
  }
  return bytes;
}
