/**
 * The snapshot files written from the typed matrix must read back in DuckDB with the same values
 * per user, one folder per bucket, and the feature list in the key-value metadata.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import { sqlString } from '../../jobs/duckdb';
import { writeSnapshotParquet } from '../../jobs/features/snapshot-parquet';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-snapq-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('snapshot Parquet', () => {
  it('reads back in DuckDB value for value, partitioned by bucket, with the feature list', async () => {
    const n = 5000;
    const x = Float32Array.from({ length: n * FEATURE_COUNT }, (_, i) => (i % 13 === 0 ? 0 : Math.fround(Math.sin(i) * 100)));
    const m = { n, userIds: Array.from({ length: n }, (_, i) => `u${i}`), buckets: Uint32Array.from({ length: n }, (_, i) => (i * 7) % 5), x };
    writeSnapshotParquet(tmp, 'chunk00003', m);
    // a rerun overwrites its own files
    writeSnapshotParquet(tmp, 'chunk00003', m);
    expect(fs.readdirSync(tmp).sort()).toEqual(['bucket=0', 'bucket=1', 'bucket=2', 'bucket=3', 'bucket=4']);
    expect(fs.readdirSync(path.join(tmp, 'bucket=2'))).toEqual(['chunk00003_0.parquet']);
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    try {
      const glob = sqlString(path.join(tmp, '*', '*.parquet'));
      const r = await conn.runAndReadAll(`SELECT user_id, bucket, [${FEATURE_NAMES.map((f) => `"${f}"`).join(', ')}] AS x FROM read_parquet(${glob}, hive_partitioning = true)`);
      const rows = r.getRowObjectsJS();
      expect(rows).toHaveLength(n);
      for (const row of rows) {
        const i = Number(String(row.user_id).slice(1));
        expect(Number(row.bucket)).toBe(m.buckets[i]);
        const got = row.x as number[];
        expect(got).toHaveLength(FEATURE_COUNT);
        for (let j = 0; j < FEATURE_COUNT; j++) if (got[j] !== x[i * FEATURE_COUNT + j]) throw new Error(`user ${row.user_id} feature ${FEATURE_NAMES[j]}: ${got[j]} vs ${x[i * FEATURE_COUNT + j]}`);
      }
      const kv = await conn.runAndReadAll(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(path.join(tmp, 'bucket=1', 'chunk00003_0.parquet'))})`);
      const meta = Object.fromEntries(kv.getRowObjectsJS().map((o) => [o.k, o.v]));
      expect(meta.feature_set_hash).toBe(FEATURE_SET_HASH);
      expect(String(meta.feature_names).split(',')).toEqual([...FEATURE_NAMES]);
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  });
});
