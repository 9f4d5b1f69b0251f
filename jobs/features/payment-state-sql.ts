/**
 * Fills the payment state (core/payment-state.ts) of a slice with DuckDB: from scratch over the
 * 90-day window (a full night), or by moving the previous night's state one day forward with the
 * boundary days' aggregates (an incremental night). Both expect temp table user_static.
 */
import { DuckDBDataChunk, UINTEGER, type DuckDBConnection } from '@duckdb/node-api';
import { PAYMENT_RECENCY, TILE_AGGREGATES } from '../../core/feature-registry';
import { addDays, epochDay } from '../../core/dates';
import { BOUNDARY_DAYS, emptyPairs, PaymentState, SUM_AGGS, windowMaxSql, type AggregateRows, type MerchantPairs, type WindowMaxRows } from '../../core/payment-state';
import { fillTemplate, loadSql, quoteIdent, runWithParams, sqlString } from '../duckdb';
import { forEachChunk, numericColumn, typedColumn, uint32Column, uint8Column } from '../duckdb-vectors';

export interface PaymentFragments {
  payments: string;
}

type Lap = (name: string, t0: number) => void;

const MAX_COL = TILE_AGGREGATES.find((a) => a.agg === 'max')!.col;
const AGG_COLS = [...SUM_AGGS.map((a) => a.col), MAX_COL, ...PAYMENT_RECENCY.map((r) => r.col)];

/** Full night: the state of `n` users as of `asOf` from the payments of the 90-day window. */
export async function fullPaymentState(conn: DuckDBConnection, frag: PaymentFragments, asOf: string, n: number, lap: Lap): Promise<PaymentState> {
  const st = new PaymentState(n, epochDay(asOf));
  let t = performance.now();
  await runWithParams(conn, fillTemplate(loadSql('features/payment-tiles'), { ...frag, aggregates: loadSql('features/payment-aggregates') }), { as_of: asOf });
  lap('sql_tiles', t);
  t = performance.now();
  const rows = await readAggregates(conn, 'pay_tiles', 'tile', true);
  st.addTiles(rows);
  lap('read_tiles', t);
  t = performance.now();
  st.setPairs(await readPairs(conn, frag, asOf, addDays(asOf, -90), asOf), true);
  lap('sql_merchants', t);
  return st;
}

/**
 * Incremental night: moves `prev` (as of the day before `asOf`) to `asOf`, reading only the
 * boundary days, and the payments of the users whose window maximum expired.
 */
export async function advancePaymentState(conn: DuckDBConnection, frag: PaymentFragments, asOf: string, prev: PaymentState, lap: Lap): Promise<{ state: PaymentState; recomputed: number }> {
  if (prev.asOfDay !== epochDay(asOf) - 1) throw new Error(`payment state is as of day ${prev.asOfDay}, not the day before ${asOf}`);
  let t = performance.now();
  const dayFilter = BOUNDARY_DAYS.map((d) => {
    const day = addDays(asOf, -1 - d);
    return `(ts >= TIMESTAMP ${sqlString(day)} AND ts < TIMESTAMP ${sqlString(addDays(day, 1))})`;
  }).join(' OR ');
  await runWithParams(conn, fillTemplate(loadSql('features/payment-days'), { ...frag, aggregates: loadSql('features/payment-aggregates'), day_filter: dayFilter }), { as_of: asOf });
  lap('sql_days', t);
  t = performance.now();
  const days = await readAggregates(conn, 'pay_days', 'day_idx', false);
  lap('read_days', t);
  t = performance.now();
  const newPairs = await readPairs(conn, frag, asOf, addDays(asOf, -1), asOf);
  lap('sql_pairs', t);
  t = performance.now();
  const dirty = prev.advance(days, newPairs);
  lap('advance', t);
  t = performance.now();
  await conn.run('CREATE OR REPLACE TEMP TABLE dirty (ri UINTEGER)');
  if (dirty.length > 0) {
    const app = await conn.createAppender('dirty', 'main', 'temp');
    try {
      for (let off = 0; off < dirty.length; off += 2048) {
        const rows = Math.min(2048, dirty.length - off);
        const chunk = DuckDBDataChunk.create([UINTEGER], rows);
        const v = chunk.getColumnVector(0) as unknown as { items: Uint32Array; flush(): void };
        v.items.set(dirty.subarray(off, off + rows));
        v.flush();
        app.appendDataChunk(chunk);
      }
    } finally {
      app.closeSync();
    }
  }
  const wm = await readWindowMax(conn, frag, asOf);
  prev.applyWindowMax(wm);
  lap('sql_recompute', t);
  return { state: prev, recomputed: dirty.length };
}

/** Reads pay_tiles or pay_days into one set of columns. */
async function readAggregates(conn: DuckDBConnection, table: 'pay_tiles' | 'pay_days', atCol: string, tileExtras: boolean): Promise<AggregateRows> {
  const cols = ['ri', atCol, ...AGG_COLS, ...(tileExtras ? ['max_day_idx', 'mask_lo', 'mask_hi'] : [])];
  const parts: { ri: Uint32Array; at: Uint8Array; num: Float64Array[]; lo?: Uint32Array; hi?: Uint32Array }[] = [];
  await forEachChunk(await conn.run(`SELECT ${cols.map(quoteIdent).join(', ')} FROM ${table}`), (c) => {
    const num = AGG_COLS.map((_, j) => numericColumn(c, j + 2));
    if (tileExtras) num.push(numericColumn(c, AGG_COLS.length + 2));
    parts.push({
      ri: uint32Column(c, 0).slice(),
      at: uint8Column(c, 1).slice(),
      num,
      lo: tileExtras ? uint32Column(c, AGG_COLS.length + 3).slice() : undefined,
      hi: tileExtras ? uint32Column(c, AGG_COLS.length + 4).slice() : undefined,
    });
  });
  const len = parts.reduce((a, p) => a + p.ri.length, 0);
  const ncols = AGG_COLS.length + (tileExtras ? 1 : 0);
  const ri = new Uint32Array(len);
  const at = new Uint8Array(len);
  const num = Array.from({ length: ncols }, () => new Float64Array(len));
  const lo = new Uint32Array(tileExtras ? len : 0);
  const hi = new Uint32Array(tileExtras ? len : 0);
  let off = 0;
  for (const p of parts) {
    ri.set(p.ri, off);
    at.set(p.at, off);
    p.num.forEach((col, j) => num[j].set(col, off));
    if (p.lo) lo.set(p.lo, off);
    if (p.hi) hi.set(p.hi, off);
    off += p.ri.length;
  }
  const S = SUM_AGGS.length;
  return {
    length: len,
    ri,
    at,
    sums: num.slice(0, S),
    max: num[S],
    recency: num.slice(S + 1, S + 1 + PAYMENT_RECENCY.length),
    ...(tileExtras ? { maxDayIdx: num[ncols - 1], maskLo: lo, maskHi: hi } : {}),
  };
}

/** (user, merchant) pairs with payments in [from, to), sorted; day = day index before asOf. */
async function readPairs(conn: DuckDBConnection, frag: PaymentFragments, asOf: string, from: string, to: string): Promise<MerchantPairs> {
  const sql = fillTemplate(loadSql('features/payment-merchants'), { payments: frag.payments });
  const res = await conn.run(sql, { as_of: asOf, from, to });
  const parts: Uint32Array[][] = [];
  const days: Int32Array[] = [];
  await forEachChunk(res, (c) => {
    parts.push([uint32Column(c, 0).slice(), uint32Column(c, 1).slice(), uint32Column(c, 2).slice()]);
    days.push(Int32Array.from(typedColumn(c, 3)));
  });
  const len = days.reduce((a, d) => a + d.length, 0);
  const p = emptyPairs(len);
  p.length = len;
  let off = 0;
  parts.forEach(([ri, mh, ml], i) => {
    p.ri.set(ri, off);
    p.mh.set(mh, off);
    p.ml.set(ml, off);
    p.day.set(days[i], off);
    off += ri.length;
  });
  return p;
}

async function readWindowMax(conn: DuckDBConnection, frag: PaymentFragments, asOf: string): Promise<WindowMaxRows> {
  const sql = fillTemplate(loadSql('features/payment-window-max'), { ...frag, window_max: windowMaxSql() });
  const res = await conn.runAndReadAll(sql, { as_of: asOf });
  const k = (res.columnCount - 1) / 2;
  const cols = Array.from({ length: res.columnCount }, (_, j) => res.getColumns()[j]);
  const len = res.currentRowCount;
  const num = (j: number) => Float64Array.from(cols[j], (v) => (v === null ? NaN : Number(v)));
  return {
    length: len,
    ri: Uint32Array.from(cols[0], (v) => Number(v)),
    max: Array.from({ length: k }, (_, i) => num(1 + 2 * i)),
    arg: Array.from({ length: k }, (_, i) => num(2 + 2 * i)),
  };
}
