/**
 * What `paydecide sink` writes for each stream (core/decision-log.ts is the contract): the Parquet
 * columns and their DuckDB types (the world's columns first, docs/world-schema.md, then the online
 * extras), the de-duplication key, the folder, and the decoding of a batch of stream entries into
 * rows, dead letters and duplicates. Pure: no Redis, no files.
 */
import type { z } from 'zod';
import {
  DECISION_STREAM,
  OUTCOME_STREAM,
  STREAM_FIELD,
  onlineDecisionRowSchema,
  outcomeEventRowSchema,
} from '../../core/decision-log';
import { bucketOf } from '../../core/slot';
import { quoteIdent, sqlStringList } from '../duckdb';

export const SINK_STREAMS = ['decisions', 'outcomes'] as const;
export type SinkStreamName = (typeof SINK_STREAMS)[number];

export interface SinkTable {
  stream: SinkStreamName;
  /** Stream key under the prefix (`P:<streamKey>`). */
  streamKey: string;
  /** Folder under the sink's store: `<dir>/date=YYYY-MM-DD/part-<first>-<last>.parquet`. */
  dir: string;
  /** Unique per row: the sink keeps one row per key in a file, readers one per key overall. */
  key: string;
  /** The row's timestamp column: names the date= folder (first row of the batch) and orders rows. */
  ts: string;
  schema: z.ZodType<Record<string, unknown>>;
  /** Parquet columns in file order, with their DuckDB types. */
  columns: readonly (readonly [name: string, type: string])[];
}

const DECISION_COLUMNS = [
  // the world's decision_log columns, in its order
  ['decision_id', 'VARCHAR'], ['user_id', 'VARCHAR'], ['bucket', 'USMALLINT'], ['decision_ts', 'TIMESTAMP'],
  ['action', 'VARCHAR'], ['campaign_id', 'SMALLINT'], ['propensity', 'DOUBLE'], ['policy_version', 'VARCHAR'],
  ['surface', 'VARCHAR'], ['ctx_amount_usd', 'DOUBLE'], ['ctx_mcc', 'VARCHAR'], ['ctx_channel', 'VARCHAR'],
  ['ctx_auth_outcome', 'VARCHAR'],
  // online extras
  ['request_id', 'VARCHAR'], ['event', 'VARCHAR'], ['source', 'VARCHAR'], ['score_version', 'VARCHAR'],
  ['model_version', 'VARCHAR'], ['adjuster_version', 'VARCHAR'], ['features', 'FLOAT[]'], ['scores', 'FLOAT[]'],
  ['uplift', 'FLOAT[]'], ['expected_value', 'DOUBLE'], ['latency_ms', 'DOUBLE'], ['reasons', 'VARCHAR[]'],
] as const;

const OUTCOME_COLUMNS = [
  // the world's outcomes columns, in its order
  ['user_id', 'VARCHAR'], ['bucket', 'USMALLINT'], ['goal', 'VARCHAR'], ['event_ts', 'TIMESTAMP'],
  ['value_usd', 'DOUBLE'], ['decision_id', 'VARCHAR'],
  ['event_id', 'VARCHAR'],
] as const;

export const SINK_TABLES: Readonly<Record<SinkStreamName, SinkTable>> = {
  decisions: {
    stream: 'decisions',
    streamKey: DECISION_STREAM,
    dir: 'decision_log',
    key: 'decision_id',
    ts: 'decision_ts',
    schema: onlineDecisionRowSchema as unknown as z.ZodType<Record<string, unknown>>,
    columns: DECISION_COLUMNS,
  },
  outcomes: {
    stream: 'outcomes',
    streamKey: OUTCOME_STREAM,
    dir: 'outcomes',
    key: 'event_id',
    ts: 'event_ts',
    schema: outcomeEventRowSchema as unknown as z.ZodType<Record<string, unknown>>,
    columns: OUTCOME_COLUMNS,
  },
};

/** `P:stream:decisions:dead`: invalid entries with the reason (fields id, reason, consumer, j). */
export function deadLetterKey(prefix: string, stream: SinkStreamName): string {
  return `${prefix}:${SINK_TABLES[stream].streamKey}:dead`;
}

/** One stream entry as XREADGROUP / XAUTOCLAIM return it; `fields` is null when XTRIM removed it while pending. */
export interface StreamEntry {
  id: string;
  fields: string[] | null;
}

export interface DeadLetter {
  id: string;
  reason: string;
  /** The entry's `j` value as read ('' when it had none). */
  raw: string;
}

export interface DecodedBatch {
  /** Valid rows with `bucket`, first occurrence of each key, in stream order. */
  rows: Record<string, unknown>[];
  dead: DeadLetter[];
  /** Entries whose key an earlier entry of the batch already had. */
  duplicates: number;
  /** Pending entries the stream's cap trimmed before they were written (nothing left to write). */
  trimmed: number;
}

const FLOAT32_MAX = 3.4028234663852886e38;
// A lone UTF-16 surrogate: JSON.parse accepts it, DuckDB's JSON reader (UTF-8) refuses the batch.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What the schema lets through but DuckDB would refuse (and so fail the whole batch). */
function storableProblem(row: Record<string, unknown>, columns: SinkTable['columns']): string | null {
  for (const [name, type] of columns) {
    const v = row[name];
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) {
      if (typeof x === 'string' && LONE_SURROGATE.test(x)) return `${name}: string with an unpaired UTF-16 surrogate`;
      if (type === 'FLOAT[]' && typeof x === 'number' && Math.abs(x) > FLOAT32_MAX) return `${name}: ${x} does not fit a FLOAT (32-bit)`;
    }
  }
  return null;
}

/** Validates and de-duplicates a batch of entries; `buckets` is the world's bucket count. */
export function decodeBatch(table: SinkTable, entries: readonly StreamEntry[], buckets: number): DecodedBatch {
  const out: DecodedBatch = { rows: [], dead: [], duplicates: 0, trimmed: 0 };
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.fields === null) {
      out.trimmed++;
      continue;
    }
    let raw: string | undefined;
    for (let i = 0; i + 1 < e.fields.length; i += 2) if (e.fields[i] === STREAM_FIELD) raw = e.fields[i + 1];
    if (raw === undefined) {
      out.dead.push({ id: e.id, reason: `no field '${STREAM_FIELD}'`, raw: '' });
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      out.dead.push({ id: e.id, reason: `invalid JSON: ${(err as Error).message}`, raw });
      continue;
    }
    const r = table.schema.safeParse(json);
    if (!r.success) {
      const why = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      out.dead.push({ id: e.id, reason: `schema: ${why}`, raw });
      continue;
    }
    const row = r.data;
    const problem = storableProblem(row, table.columns);
    if (problem) {
      out.dead.push({ id: e.id, reason: `schema: ${problem}`, raw });
      continue;
    }
    const k = row[table.key] as string;
    if (seen.has(k)) {
      out.duplicates++;
      continue;
    }
    seen.add(k);
    out.rows.push({ ...row, bucket: bucketOf(row.user_id as string, buckets) });
  }
  return out;
}

/** Stream ids compared as (ms, seq). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/**
 * The object key of a batch: deterministic from its first and last stream id, so a batch that is
 * re-delivered after a crash between writing and XACK overwrites its own file. The date is the
 * first row's (UTC) day; a batch that spans midnight keeps its later rows in that folder too.
 */
export function batchFileKey(table: SinkTable, firstId: string, lastId: string, firstRow: Record<string, unknown>): string {
  const date = String(firstRow[table.ts]).slice(0, 10);
  return `${table.dir}/date=${date}/part-${firstId}-${lastId}.parquet`;
}

/**
 * SQL (a parenthesised subquery) over sink files that keeps one row per key across files: a batch
 * re-delivered after a restart can be cut differently and land in a second file, so readers must
 * de-duplicate. `paths` are files, folders' globs (`DIR/decision_log/**\/*.parquet`) or both.
 * The hive folder adds a `date` column.
 */
export function sinkScanSql(stream: SinkStreamName, paths: readonly string[]): string {
  const t = SINK_TABLES[stream];
  return `(SELECT * FROM read_parquet(${sqlStringList(paths)}, union_by_name = true)
  QUALIFY row_number() OVER (PARTITION BY ${quoteIdent(t.key)} ORDER BY ${quoteIdent(t.ts)}) = 1)`;
}

/** {@link sinkScanSql} for the decision log (one row per decision_id). */
export function readDecisionLogSql(paths: readonly string[]): string {
  return sinkScanSql('decisions', paths);
}

/** {@link sinkScanSql} for outcome events (one row per event_id). */
export function readOutcomesSql(paths: readonly string[]): string {
  return sinkScanSql('outcomes', paths);
}
