/**
 * Writes a chunk's feature snapshot as Parquet, one file per bucket under `<dir>/bucket=K/`:
 * `user_id`, then one FLOAT column per feature named as in the registry, in registry order, with
 * the feature names and feature-set hash in the file's key-value metadata. The row-major matrix
 * is transposed into per-feature Float32Arrays (in blocks of rows, so reads and writes stay in
 * cache) and written by parquet-writer.ts (plain, uncompressed: the features barely compress).
 */
import fs from 'node:fs';
import path from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import { writeParquetFile, type ParquetColumn } from './parquet-writer';

export interface SnapshotRows {
  n: number;
  userIds: string[];
  buckets: Uint32Array;
  /** Row-major n × FEATURE_COUNT. */
  x: Float32Array;
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
  for (const [bucket, rows] of byBucket) {
    const k = rows.length;
    const cols = Array.from({ length: F }, () => new Float32Array(k));
    const BLOCK = 256;
    for (let r0 = 0; r0 < k; r0 += BLOCK) {
      const r1 = Math.min(k, r0 + BLOCK);
      for (let j = 0; j < F; j++) {
        const c = cols[j];
        for (let r = r0; r < r1; r++) c[r] = m.x[rows[r] * F + j];
      }
    }
    const columns: ParquetColumn[] = [
      { name: 'user_id', type: 'string', values: rows.map((i) => m.userIds[i]) },
      ...FEATURE_NAMES.map((name, j): ParquetColumn => ({ name, type: 'float', values: cols[j] })),
    ];
    const file = path.join(dir, `bucket=${bucket}`, `${tag}_0.parquet`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    bytes += writeParquetFile(tmp, columns, kv);
    fs.renameSync(tmp, file);
  }
  return bytes;
}
