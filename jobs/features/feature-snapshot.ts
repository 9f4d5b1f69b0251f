/**
 * Computes the serving feature snapshot of one slice of users as of a date (sql/features/*),
 * writes it as Parquet partitioned by bucket, and reads it into typed arrays for scoring.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import { FEATURE_COUNT } from '../../core/feature-registry';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { fillTemplate, loadSql, runWithParams, sqlString, sqlStringList } from '../duckdb';
import { featureArraySql, featureColumnsSql, windowColumnsSql } from './feature-sql';

export interface SliceFiles {
  users: string[];
  payments: string[];
  decisions: string[];
  outcomes: string[];
}

/** A read_parquet call over files; `empty` is a file whose schema stands in when the slice has none. */
export function parquetScan(files: string[], empty?: string): string {
  if (files.length > 0) return `read_parquet(${sqlStringList(files)})`;
  if (empty) return `(SELECT * FROM read_parquet(${sqlString(empty)}) LIMIT 0)`;
  throw new PaydecideError(ErrorCodes.INPUT_MISSING, 'no input files for this slice');
}

/** Wraps DuckDB errors about Parquet files into input errors that name the file. */
export function asInputError(e: unknown): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  if (/No files found|does not exist|No such file/i.test(msg)) {
    return new PaydecideError(ErrorCodes.INPUT_MISSING, `missing input: ${firstLine(msg)}`, { cause: e });
  }
  if (/parquet|magic bytes|Invalid Input Error|corrupt|thrift|IO Error/i.test(msg)) {
    return new PaydecideError(ErrorCodes.INPUT_CORRUPT, `unreadable input: ${firstLine(msg)}`, { cause: e });
  }
  if (/Binder Error|Referenced column|not found in FROM clause|Conversion Error/i.test(msg)) {
    return new PaydecideError(ErrorCodes.INPUT_SCHEMA, `input does not match the world schema: ${firstLine(msg)}`, { cause: e });
  }
  return e;
}
function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 400);
}

/**
 * Builds temp table `snapshot` (user_id, bucket, features…) for the slice. Point-in-time: every
 * query reads only rows strictly before `asOf`.
 */
export async function computeSnapshot(conn: DuckDBConnection, files: SliceFiles, asOf: string, emptyFallback: Partial<SliceFiles> = {}): Promise<number> {
  const frag = {
    users: parquetScan(files.users),
    payments: parquetScan(files.payments, emptyFallback.payments?.[0]),
    decisions: parquetScan(files.decisions, emptyFallback.decisions?.[0]),
    outcomes: parquetScan(files.outcomes, emptyFallback.outcomes?.[0]),
    window_columns: windowColumnsSql(),
    feature_columns: featureColumnsSql(),
  };
  const params = { as_of: asOf };
  try {
    for (const name of ['features/payment-tiles', 'features/payment-user', 'features/exposure', 'features/snapshot', 'features/gate-attributes']) {
      await runWithParams(conn, fillTemplate(loadSql(name), frag), params);
    }
    const r = await conn.runAndReadAll('SELECT count(*)::BIGINT AS n FROM snapshot');
    return Number(r.getRows()[0][0]);
  } catch (e) {
    throw asInputError(e);
  }
}

/**
 * Writes the snapshot as Parquet under `<dir>/bucket=K/` (one file per bucket, named by `tag`
 * so reruns of a chunk overwrite their own files and nothing else).
 */
export async function writeSnapshotParquet(conn: DuckDBConnection, dir: string, tag: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await conn.run(
    `COPY (SELECT * FROM snapshot ORDER BY bucket, user_id) TO ${sqlString(dir)}
     (FORMAT parquet, PARTITION_BY (bucket), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN ${sqlString(`${tag}_{i}`)})`,
  );
}

export interface FeatureMatrix {
  n: number;
  userIds: string[];
  slots: Uint32Array;
  /** Gate attributes per user (not model inputs). */
  country: string[];
  kycTier: Uint8Array;
  creditEligible: Uint8Array;
  /** email = 1, push = 2, sms = 4, in_app = 8. */
  optoutBits: Uint8Array;
  /** Row-major n × FEATURE_COUNT. */
  x: Float32Array;
}

/**
 * Reads the snapshot into typed arrays, ordered by Redis slot then user id: one FLOAT[F] array
 * column, whose chunk data is already row-major, copied with one `Float32Array.set` per chunk.
 */
export async function readFeatureMatrix(conn: DuckDBConnection, slots: number): Promise<FeatureMatrix> {
  const result = await conn.run(
    `SELECT s.user_id, (md5_number_lower(s.user_id) % $slots::UBIGINT)::UINTEGER AS slot,
            g.g_country, g.g_kyc_tier, g.g_credit_eligible, g.g_optout_bits, ${featureArraySql()} AS x
     FROM snapshot s JOIN gate_attrs g USING (user_id) ORDER BY slot, s.user_id`,
    { slots },
  );
  const chunks: DuckDBDataChunk[] = [];
  let n = 0;
  for (;;) {
    const c = await result.fetchChunk();
    if (!c || c.rowCount === 0) break;
    chunks.push(c);
    n += c.rowCount;
  }
  const x = new Float32Array(n * FEATURE_COUNT);
  const slotArr = new Uint32Array(n);
  const userIds: string[] = new Array(n);
  const country: string[] = new Array(n);
  const kycTier = new Uint8Array(n);
  const creditEligible = new Uint8Array(n);
  const optoutBits = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    const rows = c.rowCount;
    const idVec = c.getColumnVector(0);
    const slotVec = c.getColumnVector(1);
    const countryVec = c.getColumnVector(2);
    const kycVec = c.getColumnVector(3);
    const creditVec = c.getColumnVector(4);
    const optVec = c.getColumnVector(5);
    for (let i = 0; i < rows; i++) {
      userIds[off + i] = idVec.getItem(i) as string;
      slotArr[off + i] = slotVec.getItem(i) as number;
      country[off + i] = countryVec.getItem(i) as string;
      kycTier[off + i] = kycVec.getItem(i) as number;
      creditEligible[off + i] = creditVec.getItem(i) ? 1 : 0;
      optoutBits[off + i] = optVec.getItem(i) as number;
    }
    x.set(arrayChildData(c.getColumnVector(6), rows), off * FEATURE_COUNT);
    off += rows;
  }
  return { n, userIds, slots: slotArr, country, kycTier, creditEligible, optoutBits, x };
}

/**
 * The Float32Array behind a FLOAT[F] array vector. `childData.items` is not in the public types
 * of @duckdb/node-api; when it is absent, fall back to per-item reads (slow but correct).
 */
function arrayChildData(vec: unknown, rows: number): Float32Array {
  const items = (vec as { childData?: { items?: unknown } }).childData?.items;
  if (items instanceof Float32Array && items.length >= rows * FEATURE_COUNT) return items.subarray(0, rows * FEATURE_COUNT);
  const out = new Float32Array(rows * FEATURE_COUNT);
  const v = vec as { getItem(i: number): { items: number[] } | null };
  for (let i = 0; i < rows; i++) {
    const item = v.getItem(i);
    if (item) out.set(item.items, i * FEATURE_COUNT);
  }
  return out;
}

/** Relative snapshot folder for a date inside the world folder. */
export function snapshotDir(worldDir: string, asOf: string): string {
  return path.join(worldDir, 'features', `as_of=${asOf}`);
}
