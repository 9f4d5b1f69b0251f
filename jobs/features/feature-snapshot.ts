/**
 * Computes the serving feature snapshot of one slice of users as of a date (sql/features/*) into
 * typed arrays for scoring (snapshot-parquet.ts writes it as Parquet partitioned by bucket).
 */
import path from 'node:path';
import { ARRAY, DuckDBDataChunk, FLOAT, UINTEGER, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { FeatureMatrixBuilder } from '../../core/feature-assembly';
import { FEATURE_COUNT, FEATURES } from '../../core/feature-registry';
import type { PaymentState } from '../../core/payment-state';
import { advancePaymentState, fullPaymentState } from './payment-state-sql';
import type { StoredState } from './payment-state-file';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { addDays } from '../../core/dates';
import { fillTemplate, loadSql, quoteIdent, runWithParams, sqlString, sqlStringList } from '../duckdb';
import { forEachChunk, numericColumn, typedColumn, uint32Column } from '../duckdb-vectors';

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

const STATIC_FEATURES = FEATURES.filter((f) => f.source === 'users').map((f) => f.name);
const EXPOSURE_FEATURES = FEATURES.filter((f) => f.source === 'decision_log' || f.source === 'outcomes').map((f) => f.name);

export interface FeatureMatrix {
  n: number;
  userIds: string[];
  slots: Uint32Array;
  buckets: Uint32Array;
  /** Gate attributes per user (not model inputs). */
  country: string[];
  kycTier: Uint8Array;
  creditEligible: Uint8Array;
  /** email = 1, push = 2, sms = 4, in_app = 8. */
  optoutBits: Uint8Array;
  /** Row-major n × FEATURE_COUNT, rows in the slice's file order (users-static.sql). */
  x: Float32Array;
  /** The payment state behind the windowed payment features, for the next night. */
  payment: PaymentState;
  /** How the payment state was made: from the 90-day window, or moved on from the previous night's. */
  mode: 'full' | 'incremental';
  /** Why a previous state was given but not used. */
  fullReason?: string;
  /** Incremental nights: users whose window maxima or first payment were recomputed. */
  recomputed?: number;
}

export interface SnapshotOptions {
  /** Redis slot count (orders the rows by slot). @defaultValue 64 */
  slots?: number;
  /** Files whose schema stands in when the slice has no payments/decisions/outcomes. */
  emptyFallback?: Partial<SliceFiles>;
  /** Also leave the matrix in temp table `snapshot` (for Parquet and SQL joins). @defaultValue true */
  table?: boolean;
  /** Per-stage timings, for benchmarks. */
  timings?: Record<string, number>;
  /** The previous night's payment state of the same slice: used when it is as of the day before. */
  prev?: StoredState;
}

/**
 * Computes the serving feature matrix of a slice of users as of a date and leaves it in temp
 * table `snapshot` (user_id, bucket, x FLOAT[F]) for training joins (the nightly writes Parquet with snapshot-parquet.ts).
 * SQL (sql/features/*.sql) computes narrow per-(user, tile) partials; core/feature-assembly.ts
 * sums them into windows. Point-in-time: every query reads only rows strictly before `asOf`.
 */
export async function computeSnapshot(conn: DuckDBConnection, files: SliceFiles, asOf: string, opts: SnapshotOptions = {}): Promise<FeatureMatrix> {
  const fb = opts.emptyFallback ?? {};
  const frag = {
    users: parquetScan(files.users),
    payments: parquetScan(files.payments, fb.payments?.[0]),
    decisions: parquetScan(files.decisions, fb.decisions?.[0]),
    outcomes: parquetScan(files.outcomes, fb.outcomes?.[0]),
  };
  const timings = opts.timings ?? {};
  const lap = (name: string, t0: number) => (timings[name] = (timings[name] ?? 0) + (performance.now() - t0) / 1000);
  try {
    let t = performance.now();
    await runWithParams(conn, fillTemplate(loadSql('features/users-static'), frag), { as_of: asOf, slots: opts.slots ?? 64 });
    await conn.run('CREATE OR REPLACE TEMP TABLE user_static AS SELECT user_id, rowid::UINTEGER AS ri FROM user_attrs');
    lap('sql_users', t);
    t = performance.now();
    const { m, b } = await readUsers(conn);
    lap('read_users', t);

    const pay = { payments: frag.payments };
    const usable = opts.prev ? prevUsable(opts.prev, asOf) : undefined;
    if (opts.prev && usable === null) {
      const prev = opts.prev;
      const st = prev.userIds.length === m.n && prev.userIds.every((id, i) => id === m.userIds[i]) ? prev.state : prev.state.remap(m.n, rowMap(prev.userIds, m.userIds));
      const r = await advancePaymentState(conn, pay, asOf, st, lap);
      m.payment = r.state;
      m.mode = 'incremental';
      m.recomputed = r.recomputed;
    } else {
      m.payment = await fullPaymentState(conn, pay, asOf, m.n, lap);
      if (usable) m.fullReason = usable;
    }
    t = performance.now();
    b.addPaymentState(m.payment);
    lap('assemble', t);

    t = performance.now();
    await runWithParams(conn, fillTemplate(loadSql('features/exposure'), frag), { as_of: asOf });
    lap('sql_exposure', t);
    await forEachChunk(await conn.run(`SELECT ri, ${EXPOSURE_FEATURES.map(quoteIdent).join(', ')} FROM exposure`), (c) => {
      b.setFeatures(EXPOSURE_FEATURES, EXPOSURE_FEATURES.map((_, j) => numericColumn(c, j + 1)), uint32Column(c, 0));
    });
    t = performance.now();
    m.x = b.finish();
    lap('assemble', t);
    if (opts.table !== false) {
      t = performance.now();
      await storeSnapshotTable(conn, m);
      lap('snapshot_table', t);
    }
    return m;
  } catch (e) {
    throw asInputError(e);
  }
}

/** Null when the previous state can be moved on to `asOf`, else why not. */
function prevUsable(prev: StoredState, asOf: string): string | null {
  const want = addDays(asOf, -1);
  return prev.asOf === want ? null : `the stored payment state is as of ${prev.asOf}, not ${want}`;
}

/** Old row -> new row of the same user id (-1 = gone). */
function rowMap(oldIds: string[], newIds: string[]): Int32Array {
  const at = new Map<string, number>();
  newIds.forEach((id, i) => at.set(id, i));
  return Int32Array.from(oldIds, (id) => at.get(id) ?? -1);
}

/**
 * Reads user_attrs in one pass: per-user identity and gate attributes by row (ri = rowid), and
 * the static features into a new matrix builder.
 */
async function readUsers(conn: DuckDBConnection): Promise<{ m: FeatureMatrix; b: FeatureMatrixBuilder }> {
  const r = await conn.runAndReadAll('SELECT count(*)::UINTEGER FROM user_attrs');
  const n = Number(r.getRows()[0][0]);
  const m: FeatureMatrix = {
    n,
    userIds: new Array(n),
    slots: new Uint32Array(n),
    buckets: new Uint32Array(n),
    country: new Array(n),
    kycTier: new Uint8Array(n),
    creditEligible: new Uint8Array(n),
    optoutBits: new Uint8Array(n),
    x: new Float32Array(0),
    payment: undefined as unknown as PaymentState,
    mode: 'full',
  };
  const res = await conn.run(
    `SELECT user_id, slot, bucket, g_country, g_kyc_tier, g_credit_eligible, g_optout_bits, rowid::UINTEGER AS ri,
            ${STATIC_FEATURES.map(quoteIdent).join(', ')}
     FROM user_attrs`,
  );
  const b = new FeatureMatrixBuilder(n);
  // a parallel scan may return row groups out of rowid order: every value goes to its row
  await forEachChunk(res, (c) => {
    const rows = c.rowCount;
    const ri = uint32Column(c, 7);
    const idVec = c.getColumnVector(0);
    const countryVec = c.getColumnVector(3);
    const [slot, bucket, kyc, credit, optout] = [1, 2, 4, 5, 6].map((j) => typedColumn(c, j));
    for (let i = 0; i < rows; i++) {
      const r = ri[i];
      if (!(r < n)) throw new Error(`user_attrs rowid ${r} outside 0..${n - 1}`);
      m.userIds[r] = idVec.getItem(i) as string;
      m.country[r] = countryVec.getItem(i) as string;
      m.slots[r] = slot[i];
      m.buckets[r] = bucket[i];
      m.kycTier[r] = kyc[i];
      m.creditEligible[r] = credit[i];
      m.optoutBits[r] = optout[i];
    }
    b.setFeatures(STATIC_FEATURES, STATIC_FEATURES.map((_, j) => numericColumn(c, j + 8)), ri);
  });
  return { m, b };
}

/**
 * Puts the matrix into DuckDB as temp table `snapshot` (user_id, bucket, x FLOAT[F]) by filling
 * data chunks' native buffers (one typed-array copy per 2,048 rows, no per-value calls for x).
 */
async function storeSnapshotTable(conn: DuckDBConnection, m: FeatureMatrix): Promise<void> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE snapshot (user_id VARCHAR, bucket UINTEGER, x FLOAT[${FEATURE_COUNT}])`);
  const appender = await conn.createAppender('snapshot', 'main', 'temp');
  try {
    const types = [VARCHAR, UINTEGER, ARRAY(FLOAT, FEATURE_COUNT)];
    const size = 2048;
    for (let off = 0; off < m.n; off += size) {
      const rows = Math.min(size, m.n - off);
      const chunk = DuckDBDataChunk.create(types, rows);
      const idVec = chunk.getColumnVector(0);
      for (let i = 0; i < rows; i++) idVec.setItem(i, m.userIds[off + i]);
      idVec.flush();
      const bucketVec = chunk.getColumnVector(1) as unknown as { items: Uint32Array; flush(): void };
      bucketVec.items.set(m.buckets.subarray(off, off + rows));
      bucketVec.flush();
      const xVec = chunk.getColumnVector(2) as unknown as { childData: { items: Float32Array }; flush(): void };
      xVec.childData.items.set(m.x.subarray(off * FEATURE_COUNT, (off + rows) * FEATURE_COUNT));
      xVec.flush();
      appender.appendDataChunk(chunk);
    }
  } finally {
    appender.closeSync();
  }
}

/** Relative snapshot folder for a date inside the world folder. */
export function snapshotDir(worldDir: string, asOf: string): string {
  return path.join(worldDir, 'features', `as_of=${asOf}`);
}
