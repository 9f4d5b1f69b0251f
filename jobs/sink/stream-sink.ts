/**
 * The sink: a Redis consumer group on `P:stream:decisions` or `P:stream:outcomes` that writes
 * Parquet batches to an object store (directory or S3) and acknowledges them only afterwards.
 *
 * At least once, never lost while the entries are in the stream:
 * 1. XGROUP CREATE … 0 MKSTREAM: a new group starts at the beginning of the stream.
 * 2. On start, this consumer's own pending entries (delivered before a crash, never acked) are
 *    read again (XREADGROUP … 0) and written first; entries pending at other consumers idle for
 *    longer than `claimIdleMs` (a dead sink's) are taken over with XAUTOCLAIM, at start and then
 *    every `claimIdleMs` between batches.
 * 3. New entries ('>') are batched up to `batchRows`, or for at most `maxWaitMs`.
 * 4. A batch is written as ONE Parquet file under a temporary name and published whole
 *    (store.putFile: rename or a completed S3 upload), THEN its ids are XACKed. The file name comes
 *    from the batch's first and last stream id, so a batch re-delivered after a crash between the
 *    write and the ack overwrites its own file. A batch that is cut differently on re-delivery
 *    (taken over from another consumer, say) can repeat rows in a second file: readers
 *    de-duplicate by key (sinkScanSql), and each file holds a key once.
 * Invalid entries (no `j`, bad JSON, schema) go to `P:stream:<name>:dead` with the reason and are
 * acked: they never stop the sink. Entries the stream's cap trimmed while still pending are acked
 * and counted (`trimmed`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger';
import type { ObjectStore } from '../../core/object-store';
import { STREAM_FIELD } from '../../core/decision-log';
import { closeDuckDB, openDuckDB, type DuckOptions } from '../duckdb';
import { writeParquetBatch, tempParquetPath } from './parquet-batch';
import {
  SINK_TABLES,
  batchFileKey,
  compareStreamIds,
  deadLetterKey,
  decodeBatch,
  type SinkStreamName,
  type StreamEntry,
} from './sink-tables';

export interface SinkOptions {
  redis: Redis;
  /** PAYDECIDE_PREFIX: the stream is `<prefix>:stream:<name>`. */
  prefix: string;
  stream: SinkStreamName;
  store: ObjectStore;
  /** @defaultValue 'sink' */
  group?: string;
  /** Consumer name in the group. @defaultValue `<hostname>-<pid>` */
  consumer?: string;
  /** Rows per Parquet file at most. @defaultValue 50000 */
  batchRows?: number;
  /** A partial batch is written once its first entry has waited this long. @defaultValue 5000 */
  maxWaitMs?: number;
  /** XREADGROUP BLOCK; also how long a stop request may wait for an idle read. @defaultValue 1000 */
  blockMs?: number;
  /** Entries pending at another consumer for longer than this are taken over (a dead sink's). @defaultValue 60000 */
  claimIdleMs?: number;
  /** The world's bucket count, for the `bucket` column. @defaultValue 64 */
  buckets?: number;
  /** Approximate cap of the dead-letter stream (XADD MAXLEN ~). @defaultValue 100000 */
  deadLetterMaxLen?: number;
  /** Attempts to write a batch before the sink gives up (its entries stay pending). @defaultValue 5 */
  writeAttempts?: number;
  /** Stop after the current batch. */
  signal?: AbortSignal;
  /** Drain what the stream holds now (up to its last id at start), then return. */
  once?: boolean;
  logger?: Logger;
  /** Called after every batch and, while idle, every couple of seconds. */
  onProgress?: (s: SinkStats) => void;
  /** DuckDB for the Parquet writer. @defaultValue 1 thread, 1GB */
  duck?: DuckOptions;
}

export interface SinkStats {
  stream: SinkStreamName;
  group: string;
  consumer: string;
  /** Entries this run handled (written, duplicate, dead-lettered or trimmed) and acked. */
  entries: number;
  rowsWritten: number;
  files: number;
  bytes: number;
  duplicates: number;
  deadLettered: number;
  trimmed: number;
  /** Entries re-read from this consumer's pending list or taken over from others. */
  redelivered: number;
  /** XINFO GROUPS: entries not yet delivered to the group (null when Redis cannot tell). */
  lag: number | null;
  /** XINFO GROUPS: delivered, not yet acked (all consumers). */
  pending: number | null;
  rowsPerSecond: number;
  seconds: number;
}

export interface SinkResult extends SinkStats {
  stoppedBy: 'once' | 'signal';
}

const ACK_CHUNK = 10_000;

export async function runSink(o: SinkOptions): Promise<SinkResult> {
  const table = SINK_TABLES[o.stream];
  const key = `${o.prefix}:${table.streamKey}`;
  const dlq = deadLetterKey(o.prefix, o.stream);
  const group = o.group ?? 'sink';
  const consumer = o.consumer ?? `${os.hostname()}-${process.pid}`;
  const batchRows = o.batchRows ?? 50_000;
  const maxWaitMs = o.maxWaitMs ?? 5000;
  const blockMs = o.blockMs ?? 1000;
  const claimIdleMs = o.claimIdleMs ?? 60_000;
  const buckets = o.buckets ?? 64;
  const writeAttempts = o.writeAttempts ?? 5;
  const log = o.logger;
  const { redis, store, signal } = o;
  const t0 = performance.now();
  const st: SinkStats = {
    stream: o.stream, group, consumer, entries: 0, rowsWritten: 0, files: 0, bytes: 0, duplicates: 0, deadLettered: 0,
    trimmed: 0, redelivered: 0, lag: null, pending: null, rowsPerSecond: 0, seconds: 0,
  };
  const stopped = () => signal?.aborted === true;
  /**
   * Redis commands retried through a short outage (~25 s): every one here is safe to repeat
   * (a lost XREADGROUP reply leaves entries pending, which XAUTOCLAIM later hands back to us).
   * Errors Redis itself replied (NOGROUP, WRONGTYPE) are not retried.
   */
  const retry = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if ((e as Error).name === 'ReplyError' || attempt >= 8 || stopped()) throw e;
        log?.warn({ err: (e as Error).message, attempt }, 'sink: Redis command failed; retrying');
        await sleep(100 * 2 ** (attempt - 1), signal);
      }
    }
  };

  try {
    await redis.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM');
  } catch (e) {
    if (!/BUSYGROUP/.test((e as Error).message)) throw e;
  }

  const refresh = async () => {
    Object.assign(st, await retry(() => groupLag(redis, key, group)));
    st.seconds = (performance.now() - t0) / 1000;
    st.rowsPerSecond = Math.round(st.rowsWritten / Math.max(1e-3, st.seconds));
    o.onProgress?.({ ...st });
  };

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-sink-'));
  const duck = await openDuckDB(o.duck ?? { threads: 1, memory: '1GB' });

  /** Writes, dead-letters and acks one batch; false when a stop request interrupted the write retries. */
  const handle = async (entries: StreamEntry[]): Promise<boolean> => {
    const d = decodeBatch(table, entries, buckets);
    if (d.rows.length > 0) {
      const fileKey = batchFileKey(table, entries[0].id, entries[entries.length - 1].id, d.rows[0]);
      const file = tempParquetPath(tmp, fileKey);
      for (let attempt = 1; ; attempt++) {
        try {
          const bytes = await writeParquetBatch(duck.conn, table, d.rows, file);
          await store.putFile(fileKey, file);
          st.bytes += bytes;
          break;
        } catch (e) {
          if (attempt >= writeAttempts) throw e;
          const wait = Math.min(10_000, 250 * 2 ** (attempt - 1));
          log?.warn({ err: (e as Error).message, file: fileKey, attempt, retry_in_ms: wait }, 'sink: writing a batch failed; retrying');
          if (!(await sleep(wait, signal))) {
            log?.warn({ file: fileKey, entries: entries.length }, 'sink: stopped before the batch could be written; its entries stay pending and are re-read on restart');
            return false;
          }
        } finally {
          fs.rmSync(file, { force: true });
        }
      }
      st.files++;
      st.rowsWritten += d.rows.length;
      log?.debug({ file: fileKey, rows: d.rows.length, first_id: entries[0].id, last_id: entries[entries.length - 1].id }, 'sink: file written');
    }
    if (d.dead.length > 0) {
      await retry(async () => {
        const p = redis.pipeline();
        for (const x of d.dead) {
          p.xadd(dlq, 'MAXLEN', '~', o.deadLetterMaxLen ?? 100_000, '*', 'id', x.id, 'reason', x.reason.slice(0, 1000), 'consumer', consumer, STREAM_FIELD, x.raw.slice(0, 65_536));
        }
        for (const [err] of (await p.exec()) ?? []) if (err) throw err;
      });
      log?.warn({ dead_lettered: d.dead.length, first: d.dead[0].id, reason: d.dead[0].reason, to: dlq }, 'sink: invalid entries moved to the dead-letter stream');
    }
    for (let i = 0; i < entries.length; i += ACK_CHUNK) {
      const ids = entries.slice(i, i + ACK_CHUNK).map((e) => e.id);
      await retry(() => redis.xack(key, group, ...ids));
    }
    st.entries += entries.length;
    st.duplicates += d.duplicates;
    st.deadLettered += d.dead.length;
    st.trimmed += d.trimmed;
    await refresh();
    return true;
  };

  let stoppedBy: SinkResult['stoppedBy'] = 'signal';
  try {
    // 1. our own pending entries (a previous run of this consumer died before acking them)
    while (!stopped()) {
      const mine = await retry(() => readGroup(redis, key, group, consumer, '0', batchRows, null));
      if (mine.length === 0) break;
      st.redelivered += mine.length;
      log?.info({ entries: mine.length, first_id: mine[0].id }, 'sink: re-reading entries this consumer had not acked');
      if (!(await handle(mine))) break;
    }
    // 2. new entries, with a periodic take-over of dead consumers' pending entries
    const endId = o.once ? await lastEntryId(redis, key) : null;
    let buf: StreamEntry[] = [];
    let bufSince = 0;
    let nextClaim = 0;
    let lastRefresh = performance.now();
    while (!stopped()) {
      if (buf.length === 0 && Date.now() >= nextClaim) {
        let cursor = '0-0';
        do {
          const c = await retry(() => autoClaim(redis, key, group, consumer, claimIdleMs, cursor, batchRows));
          cursor = c.cursor;
          st.trimmed += c.deleted;
          if (c.entries.length > 0) {
            st.redelivered += c.entries.length;
            log?.info({ entries: c.entries.length, first_id: c.entries[0].id, idle_ms: claimIdleMs }, 'sink: took over entries a dead consumer had not acked');
            if (!(await handle(c.entries))) break;
          }
        } while (cursor !== '0-0' && !stopped());
        nextClaim = Date.now() + claimIdleMs;
        if (stopped()) break;
      }
      const waitLeft = buf.length > 0 ? bufSince + maxWaitMs - Date.now() : blockMs;
      let drained = false;
      if (waitLeft > 0) {
        const got = await retry(() => readGroup(redis, key, group, consumer, '>', batchRows - buf.length, o.once ? null : Math.max(1, Math.min(blockMs, waitLeft))));
        if (got.length > 0) {
          if (buf.length === 0) bufSince = Date.now();
          for (const e of got) buf.push(e);
        }
        drained = o.once === true && (got.length === 0 || endId === null || compareStreamIds(got[got.length - 1].id, endId) >= 0);
      }
      if (buf.length >= batchRows || (buf.length > 0 && (Date.now() - bufSince >= maxWaitMs || drained))) {
        const b = buf;
        buf = [];
        if (!(await handle(b))) break;
        lastRefresh = performance.now();
      }
      if (drained) {
        stoppedBy = 'once';
        break;
      }
      if (performance.now() - lastRefresh >= 2000) {
        await refresh();
        lastRefresh = performance.now();
      }
    }
    // a stop request: the entries already delivered to us are written before we return
    if (buf.length > 0) await handle(buf);
    await refresh();
    return { ...st, stoppedBy };
  } finally {
    closeDuckDB(duck);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** XREADGROUP of one stream; `blockMs` null = do not block. */
async function readGroup(redis: Redis, key: string, group: string, consumer: string, id: string, count: number, blockMs: number | null): Promise<StreamEntry[]> {
  const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', count];
  if (blockMs !== null) args.push('BLOCK', blockMs);
  args.push('STREAMS', key, id);
  return entriesOf(await redis.call('XREADGROUP', ...args));
}

/**
 * The entries of an XREADGROUP reply for one stream. RESP2 gives [[key, entries]]; ioredis 6 on
 * RESP3 with its legacy mapping flattens the map to [key, entries].
 */
function entriesOf(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const items = (typeof reply[0] === 'string' ? reply[1] : (reply[0] as unknown[])[1]) as [string, string[] | null][];
  return items.map(([id, fields]) => ({ id, fields }));
}

async function autoClaim(redis: Redis, key: string, group: string, consumer: string, minIdleMs: number, cursor: string, count: number): Promise<{ cursor: string; entries: StreamEntry[]; deleted: number }> {
  const r = (await redis.call('XAUTOCLAIM', key, group, consumer, minIdleMs, cursor, 'COUNT', count)) as [string, [string, string[] | null][], string[]?];
  // Redis ≥ 7 lists ids the cap trimmed (and drops them from the pending list) as a third element.
  return { cursor: r[0], entries: r[1].map(([id, fields]) => ({ id, fields })), deleted: r[2]?.length ?? 0 };
}

async function lastEntryId(redis: Redis, key: string): Promise<string | null> {
  const r = (await redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)) as [string, unknown][];
  return r.length > 0 ? r[0][0] : null;
}

/** The group's lag and pending count (XINFO GROUPS). */
export async function groupLag(redis: Redis, key: string, group: string): Promise<{ lag: number | null; pending: number | null }> {
  const groups = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
  for (const g of groups) {
    const m = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) m.set(String(g[i]), g[i + 1]);
    if (m.get('name') === group) {
      const lag = m.get('lag');
      return { lag: lag === null || lag === undefined ? null : Number(lag), pending: Number(m.get('pending')) };
    }
  }
  return { lag: null, pending: null };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
