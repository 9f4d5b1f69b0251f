/**
 * `paydecide sink` (jobs/sink) against real Redis, DuckDB and a loopback S3 server: the sink
 * loses nothing when SIGKILLed mid-way and restarted (a new consumer taking over by XAUTOCLAIM,
 * or the same consumer re-reading its own pending entries); a crash between writing a file and
 * XACK rewrites the same file; invalid entries go to the dead-letter stream without stopping the
 * sink; a decision logged twice reads back once (in a file, and across files through the reader
 * SQL and the training-set labels); outcomes; S3; flags.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, OFFER_ACTIONS } from '../../core/actions';
import { DECISION_STREAM, OUTCOME_STREAM, STREAM_FIELD, type OnlineDecisionRow, type OutcomeEventRow } from '../../core/decision-log';
import { LocalObjectStore, type ObjectStore } from '../../core/object-store';
import { openObjectStore } from '../../core/open-object-store';
import { mulberry32 } from '../../core/seeded-random';
import { bucketOf } from '../../core/slot';
import { closeDuckDB, fillTemplate, loadSql, openDuckDB, runWithParams, sqlStringList } from '../../jobs/duckdb';
import { deadLetterKey, groupLag, readDecisionLogSql, readOutcomesSql, runSink, SINK_TABLES, type SinkStreamName } from '../../jobs/sink';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis-prefix';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'paydecide.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-sink-test-'));
const prefixes: string[] = [];
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  redis.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function newPrefix(name: string): string {
  const p = testPrefix(name);
  prefixes.push(p);
  return p;
}

const T0 = Date.parse('2026-06-29T20:00:00.000Z');

/** A varied decision: nulls, a fallback with empty vectors, `none` with campaign -1, several days. */
function decision(i: number, rnd: () => number): OnlineDecisionRow {
  const action = ACTIONS[i % ACTIONS.length];
  const fallback = i % 11 === 0;
  const vec = (n: number) => Array.from({ length: n }, () => Math.round((rnd() * 4 - 2) * 1e6) / 1e6);
  return {
    decision_id: `dec-${i}`,
    user_id: String(i % 3000),
    decision_ts: new Date(T0 + i * 17_003).toISOString(),
    action,
    campaign_id: action === 'none' ? -1 : i % 40,
    propensity: Math.max(0.01, Math.round(rnd() * 1e4) / 1e4),
    policy_version: `pol-${i % 3}`,
    surface: 'online',
    ctx_amount_usd: i % 7 === 0 ? null : Math.round(rnd() * 50_000) / 100,
    ctx_mcc: i % 5 === 0 ? null : String(5000 + (i % 900)),
    ctx_channel: i % 13 === 0 ? null : 'merchant_checkout',
    ctx_auth_outcome: i % 17 === 0 ? null : i % 9 === 0 ? 'declined' : 'approved',
    request_id: `req-${i}`,
    event: i % 2 ? 'checkout' : 'app_open',
    source: fallback ? 'fallback:no_record' : 'model',
    score_version: fallback ? null : 'v20260630',
    model_version: fallback ? null : 'm7',
    adjuster_version: i % 4 === 0 ? null : 'adj2',
    features: fallback ? [] : vec(12),
    scores: fallback ? [] : vec(6),
    uplift: fallback ? [] : vec(6),
    expected_value: Math.round((rnd() * 10 - 1) * 1e6) / 1e6,
    latency_ms: Math.round(rnd() * 5e3) / 1e3,
    reasons: i % 3 === 0 ? [] : i % 3 === 1 ? ['cap_ok'] : ['cap_ok', 'consent', 'o\'k "quoted" ünïcode'],
  };
}

function outcome(i: number): OutcomeEventRow {
  return {
    event_id: `ev-${i}`,
    user_id: String(i % 50),
    goal: OFFER_ACTIONS[i % OFFER_ACTIONS.length],
    event_ts: new Date(T0 + i * 60_000).toISOString(),
    value_usd: i % 4 === 0 ? 0 : i * 0.5,
    decision_id: i % 3 === 0 ? null : `dec-${i}`,
  };
}

async function produce(prefix: string, stream: SinkStreamName, values: readonly string[], extra?: (p: ReturnType<Redis['pipeline']>) => void): Promise<void> {
  const key = `${prefix}:${SINK_TABLES[stream].streamKey}`;
  for (let i = 0; i < values.length; i += 1000) {
    const p = redis.pipeline();
    for (const v of values.slice(i, i + 1000)) p.xadd(key, '*', STREAM_FIELD, v);
    extra?.(p);
    await p.exec();
  }
}

function pdEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_PREFIX: prefix, PAYDECIDE_HOME: path.join(tmp, 'home'), PAYDECIDE_LOG_LEVEL: 'warn', ...extra };
}

function pd(args: string[], prefix: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: pdEnv(prefix, env), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function pdAsync(args: string[], prefix: string, env: Record<string, string> = {}): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: pdEnv(prefix, env), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => resolve({ code, err }));
  });
}

function parquetFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f)).sort();
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const d = await openDuckDB({ threads: 2, memory: '1GB' });
  try {
    return (await d.conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    closeDuckDB(d);
  }
}

const DECISION_SELECT = `decision_id, user_id, bucket, strftime(decision_ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS decision_ts, action, campaign_id,
  propensity, policy_version, surface, ctx_amount_usd, ctx_mcc, ctx_channel, ctx_auth_outcome, request_id, event, source,
  score_version, model_version, adjuster_version, features, scores, uplift, expected_value, latency_ms, reasons`;

/** Every field of a row read back equals what was produced (FLOAT[] at float precision). */
function expectRoundTrip(got: Record<string, unknown>, want: OnlineDecisionRow): void {
  const f32 = (xs: number[]) => xs.map((x) => Math.fround(x));
  expect({ ...got, features: f32(got.features as number[]), scores: f32(got.scores as number[]), uplift: f32(got.uplift as number[]) }).toEqual({
    ...want,
    bucket: bucketOf(want.user_id, 64),
    features: f32(want.features),
    scores: f32(want.scores),
    uplift: f32(want.uplift),
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('sink decisions: killed and restarted, loses nothing', () => {
  const N = 20_000;
  const rnd = mulberry32(7);
  const rows = Array.from({ length: N }, (_, i) => decision(i, rnd));
  const byId = new Map(rows.map((r) => [r.decision_id, r]));

  it.each([
    ['a new consumer (default <hostname>-<pid>) takes over the dead one\'s entries by XAUTOCLAIM', [] as string[]],
    ['the same --consumer re-reads its own pending entries', ['--consumer', 'sink-a']],
  ])('SIGKILL after the first file, restart --once: %s', async (_name, consumerArgs) => {
    const prefix = newPrefix('sink-kill');
    const out = path.join(tmp, `kill-${prefix}`);
    const key = `${prefix}:${DECISION_STREAM}`;
    // the producer keeps writing while the sink runs, so the kill lands mid-stream
    const values = rows.map((r) => JSON.stringify(r));
    await produce(prefix, 'decisions', values.slice(0, 4000));
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, 'sink', 'decisions', '--to', out, '--batch-rows', '1000', '--max-wait-ms', '200', ...consumerArgs], { env: pdEnv(prefix), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const producing = (async () => {
      for (let i = 4000; i < N; i += 1000) {
        await produce(prefix, 'decisions', values.slice(i, i + 1000));
        await new Promise((r) => setTimeout(r, 60));
      }
    })();
    await waitFor(() => parquetFiles(out).length > 0 || child.exitCode !== null, 60_000, `the first file (sink stderr: ${stderr})`);
    // …and then while it holds delivered, unacked entries (reading or writing its next batch)
    await waitFor(async () => child.exitCode !== null || ((await groupLag(redis, key, 'sink')).pending ?? 0) > 0, 30_000, 'a batch in flight');
    child.kill('SIGKILL');
    await exited;
    const killedAfter = (performance.now() - t0) / 1000;
    const filesAtKill = parquetFiles(out).length;
    await producing;
    expect(filesAtKill).toBeGreaterThan(0);
    // killed mid-way: entries are still undelivered or unacked
    const atKill = await groupLag(redis, key, 'sink');
    expect(atKill.pending).toBeGreaterThan(0);
    expect(atKill.lag).toBeGreaterThan(0);

    const t1 = performance.now();
    const r = pd(['sink', 'decisions', '--to', out, '--once', '--batch-rows', '1000', '--claim-idle-ms', '100', '--json', ...consumerArgs], prefix);
    const restartSeconds = (performance.now() - t1) / 1000;
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.stoppedBy).toBe('once');
    // what was delivered to the killed sink and not acked is written by the restarted one
    expect(summary.redelivered).toBe(atKill.pending);
    expect(await groupLag(redis, key, 'sink')).toEqual({ lag: 0, pending: 0 });

    const files = parquetFiles(out);
    for (const f of files) expect(path.relative(out, f)).toMatch(/^decision_log\/date=\d{4}-\d{2}-\d{2}\/part-\d+-\d+-\d+-\d+\.parquet$/);
    const glob = path.join(out, 'decision_log', '**', '*.parquet');
    // within a file a decision appears once
    const perFile = await query(`SELECT filename, count(*) AS n, count(DISTINCT decision_id) AS d FROM read_parquet('${glob}', filename = true) GROUP BY filename`);
    for (const x of perFile) expect(x.n).toBe(x.d);
    const raw = Number((await query(`SELECT count(*)::INTEGER AS n FROM read_parquet('${glob}')`))[0].n);
    const back = await query(`SELECT ${DECISION_SELECT} FROM ${readDecisionLogSql([glob])} ORDER BY decision_id`);
    expect(back.length).toBe(N);
    expect(new Set(back.map((x) => x.decision_id))).toEqual(new Set(byId.keys()));
    for (const x of back) expectRoundTrip(x, byId.get(x.decision_id as string)!);
    // the hive folder is the first row's day
    const dates = await query(`SELECT DISTINCT date::VARCHAR AS date FROM read_parquet('${glob}') ORDER BY 1`);
    expect(dates.map((d) => d.date)).toEqual(['2026-06-29', '2026-06-30', '2026-07-01', '2026-07-02', '2026-07-03']);
    console.log(`kill/restart (${_name}): killed after ${killedAfter.toFixed(2)} s with ${filesAtKill} files, lag ${atKill.lag}, pending ${atKill.pending}; restart --once ${restartSeconds.toFixed(2)} s; ${files.length} files, ${raw} rows for ${N} decisions`);
  });
});

describe('sink: SIGTERM', () => {
  it('stops cleanly: the batch in hand is written and acked, exit 0', async () => {
    const prefix = newPrefix('sink-term');
    const out = path.join(tmp, `term-${prefix}`);
    const key = `${prefix}:${DECISION_STREAM}`;
    const rnd = mulberry32(13);
    const rows = Array.from({ length: 500 }, (_, i) => decision(i, rnd));
    // a batch that would wait a minute for more rows
    const child = spawn(process.execPath, [BIN, 'sink', 'decisions', '--to', out, '--batch-rows', '100000', '--max-wait-ms', '60000', '--json'], { env: pdEnv(prefix), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(async () => child.exitCode !== null || (await redis.exists(key)) === 1, 60_000, `the sink's group (stderr: ${stderr})`);
    await produce(prefix, 'decisions', rows.map((r) => JSON.stringify(r)));
    await waitFor(async () => child.exitCode !== null || (await groupLag(redis, key, 'sink')).pending === 500, 30_000, 'the batch delivered');
    expect(parquetFiles(out)).toEqual([]);
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ stoppedBy: 'signal', rowsWritten: 500, files: 1, lag: 0, pending: 0 });
    expect(parquetFiles(out)).toHaveLength(1);
  });
});

describe('sink: crash between writing a file and XACK', () => {
  it('re-delivers the batch to the same file name, rewritten whole', async () => {
    const prefix = newPrefix('sink-crash');
    const out = path.join(tmp, `crash-${prefix}`);
    const rnd = mulberry32(3);
    const rows = Array.from({ length: 300 }, (_, i) => decision(i, rnd));
    await produce(prefix, 'decisions', rows.map((r) => JSON.stringify(r)));
    const local = new LocalObjectStore(out);
    let crashes = 1;
    // writes the file, then "dies" before the sink can XACK
    const crashing: ObjectStore = Object.assign(Object.create(local) as ObjectStore, {
      async putFile(key: string, file: string) {
        await local.putFile(key, file);
        if (crashes-- > 0) throw new Error('simulated crash after the write');
      },
    });
    await expect(runSink({ redis, prefix, stream: 'decisions', store: crashing, consumer: 'c1', batchRows: 100, once: true, writeAttempts: 1 })).rejects.toThrow(/simulated crash/);
    const first = parquetFiles(out);
    expect(first).toHaveLength(1);
    expect(await groupLag(redis, `${prefix}:${DECISION_STREAM}`, 'sink')).toEqual({ lag: 200, pending: 100 });

    const r = await runSink({ redis, prefix, stream: 'decisions', store: local, consumer: 'c1', batchRows: 100, once: true });
    expect(r).toMatchObject({ redelivered: 100, rowsWritten: 300, files: 3, lag: 0, pending: 0, stoppedBy: 'once' });
    const files = parquetFiles(out);
    expect(files).toHaveLength(3);
    expect(files).toContain(first[0]);
    const n = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT decision_id)::INTEGER AS d FROM read_parquet(${sqlStringList(files)})`);
    expect(n[0]).toEqual({ n: 300, d: 300 });
  });
});

describe('sink: invalid entries', () => {
  it('go to the dead-letter stream with the reason, are acked and counted; the valid ones around them are written', async () => {
    const prefix = newPrefix('sink-dead');
    const out = path.join(tmp, `dead-${prefix}`);
    const rnd = mulberry32(5);
    const good = Array.from({ length: 6 }, (_, i) => decision(i + 1, rnd));
    const key = `${prefix}:${DECISION_STREAM}`;
    const bad: [string, string, RegExp][] = [
      ['j', '{"decision_id": "x"', /^invalid JSON/],
      ['j', JSON.stringify({ ...good[0], decision_id: 'bad-p', propensity: 2 }), /^schema: propensity: /],
      ['j', JSON.stringify({ ...good[0], decision_id: 'bad-a', action: 'teleport' }), /^schema: action: /],
      ['j', JSON.stringify({ ...good[0], decision_id: 'bad-f', features: [1, 1e300] }), /^schema: features: .*FLOAT/],
      ['j', JSON.stringify({ ...good[0], decision_id: 'bad-s', reasons: ['x\ud800'] }), /^schema: reasons: .*surrogate/],
      ['other', '1', /^no field 'j'/],
    ];
    await redis.xadd(key, '*', 'j', JSON.stringify(good[0]));
    for (const [i, [field, value]] of bad.entries()) {
      await redis.xadd(key, '*', field, value);
      await redis.xadd(key, '*', 'j', JSON.stringify(good[i % 5 + 1]));
    }
    const r = await runSink({ redis, prefix, stream: 'decisions', store: new LocalObjectStore(out), once: true });
    expect(r).toMatchObject({ entries: 13, rowsWritten: 6, deadLettered: 6, duplicates: 1, lag: 0, pending: 0 });
    const dead = (await redis.xrange(deadLetterKey(prefix, 'decisions'), '-', '+')).map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])));
    expect(dead).toHaveLength(bad.length);
    for (const [i, [, value, reason]] of bad.entries()) {
      expect(dead[i].reason).toMatch(reason);
      expect(dead[i].j).toBe(i === bad.length - 1 ? '' : value);
      expect(dead[i].id).toMatch(/^\d+-\d+$/);
    }
    expect(deadLetterKey(prefix, 'decisions')).toBe(`${prefix}:stream:decisions:dead`);
    const back = await query(`SELECT ${DECISION_SELECT} FROM read_parquet(${sqlStringList(parquetFiles(out))}) ORDER BY decision_id`);
    expect(back.map((x) => x.decision_id)).toEqual(good.map((g) => g.decision_id).sort());
    for (const x of back) expectRoundTrip(x, good.find((g) => g.decision_id === x.decision_id)!);
  });
});

describe('sink: a decision logged twice', () => {
  it('is one row in a file; across files the reader SQL and the training-set labels keep one', async () => {
    const prefix = newPrefix('sink-dup');
    const out = path.join(tmp, `dup-${prefix}`);
    const rnd = mulberry32(9);
    const rows = Array.from({ length: 10 }, (_, i) => decision(i + 1, rnd));
    const twice = JSON.stringify(rows[2]);
    // batch 1: entries 0..4 with rows[2] twice; batch 2: entries 5..9 with rows[2] a third time
    const values = [...rows.slice(0, 4).map((r) => JSON.stringify(r)), twice, ...rows.slice(4, 8).map((r) => JSON.stringify(r)), twice, ...rows.slice(8).map((r) => JSON.stringify(r))];
    await produce(prefix, 'decisions', values);
    const store = new LocalObjectStore(out);
    const r = await runSink({ redis, prefix, stream: 'decisions', store, batchRows: 5, once: true });
    expect(r).toMatchObject({ entries: 12, duplicates: 1, rowsWritten: 11, files: 3, lag: 0, pending: 0 });
    const files = parquetFiles(out);
    const perFile = await query(`SELECT filename, count(*)::INTEGER AS n, count(DISTINCT decision_id)::INTEGER AS d FROM read_parquet(${sqlStringList(files)}, filename = true) GROUP BY filename`);
    for (const x of perFile) expect(x.n).toBe(x.d);
    const dedup = await query(`SELECT decision_id, count(*)::INTEGER AS n FROM ${readDecisionLogSql(files)} GROUP BY decision_id ORDER BY decision_id`);
    expect(dedup.map((x) => x.decision_id)).toEqual(rows.map((x) => x.decision_id).sort());
    expect(dedup.every((x) => x.n === 1)).toBe(true);

    // outcomes through the same sink, one event twice
    const evs = Array.from({ length: 8 }, (_, i) => outcome(i + 1));
    await produce(prefix, 'outcomes', [...evs, evs[3]].map((e) => JSON.stringify(e)));
    const ro = await runSink({ redis, prefix, stream: 'outcomes', store, once: true });
    expect(ro).toMatchObject({ entries: 9, duplicates: 1, rowsWritten: 8, files: 1 });
    const oFiles = parquetFiles(path.join(out, 'outcomes'));
    expect(path.relative(out, oFiles[0])).toMatch(/^outcomes\/date=2026-06-29\/part-/);
    const schema = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${oFiles[0]}', hive_partitioning = false))`);
    expect(schema.map((c) => `${c.column_name} ${c.column_type}`)).toEqual(SINK_TABLES.outcomes.columns.map(([n, t]) => `${n} ${t}`));
    const oBack = await query(`SELECT event_id, user_id, bucket, goal, strftime(event_ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS event_ts, value_usd, decision_id FROM ${readOutcomesSql(oFiles)} ORDER BY event_id`);
    expect(oBack).toEqual(evs.map((e) => ({ ...e, bucket: bucketOf(e.user_id, 64) })).sort((a, b) => a.event_id.localeCompare(b.event_id)));

    // the decision-log schema: the world's columns first, then the online extras
    const dSchema = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${files[0]}', hive_partitioning = false))`);
    expect(dSchema.map((c) => `${c.column_name} ${c.column_type}`)).toEqual(SINK_TABLES.decisions.columns.map(([n, t]) => `${n} ${t}`));

    // `dataset build --decisions <sink folder>`'s labels read these files (extra columns, date=
    // folders) and count the decision logged in two files once
    const d = await openDuckDB({ threads: 1, memory: '1GB' });
    try {
      const day = 86_400;
      await runWithParams(d.conn, fillTemplate(loadSql('training/dataset-labels'), { decisions: `read_parquet(${sqlStringList(files)})`, outcomes: `read_parquet(${sqlStringList(oFiles)})` }), {
        as_of: '2026-09-01', valid_frac: 0.6, test_frac: 0.75,
        w_cashback: 7 * day, w_referral_prompt: 30 * day, w_autopay_setup: 30 * day, w_card_on_file: 3600, w_installment_offer: 3600, w_none: 7 * day,
      });
      const labelled = (await d.conn.runAndReadAll('SELECT decision_id, count(*)::INTEGER AS n FROM labelled GROUP BY decision_id ORDER BY decision_id')).getRowObjectsJson();
      expect(labelled.map((x) => x.decision_id)).toEqual(rows.map((x) => x.decision_id).sort());
      expect(labelled.every((x) => x.n === 1)).toBe(true);
    } finally {
      closeDuckDB(d);
    }
  });
});

describe('sink to S3', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createBucket('decisions');
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('writes a small batch to s3://bucket/prefix through the CLI; a missing bucket exits 2', async () => {
    const prefix = newPrefix('sink-s3');
    const rnd = mulberry32(11);
    const rows = Array.from({ length: 250 }, (_, i) => decision(i, rnd));
    await produce(prefix, 'decisions', rows.map((r) => JSON.stringify(r)));
    const env = {
      PAYDECIDE_S3_ENDPOINT: s3.endpoint,
      PAYDECIDE_S3_ACCESS_KEY_ID: s3.settings.credentials!.accessKeyId,
      PAYDECIDE_S3_SECRET_ACCESS_KEY: s3.settings.credentials!.secretAccessKey,
      PAYDECIDE_S3_MAX_ATTEMPTS: '2',
    };
    const r = pd(['sink', 'decisions', '--to', 's3://decisions/online/log', '--once', '--json'], prefix, env);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ rowsWritten: 250, files: 1, lag: 0, pending: 0, to: 's3://decisions/online/log' });
    const store = openObjectStore('s3://decisions/online/log', s3.settings);
    try {
      const objs = await store.list('decision_log/');
      expect(objs).toHaveLength(1);
      expect(objs[0].key).toMatch(/^decision_log\/date=2026-06-29\/part-\d+-\d+-\d+-\d+\.parquet$/);
      const local = path.join(tmp, `s3-${prefix}`, objs[0].key);
      await store.getToFile(objs[0].key, local);
      const back = await query(`SELECT ${DECISION_SELECT} FROM read_parquet('${local}') ORDER BY decision_id`);
      expect(back).toHaveLength(250);
      for (const x of back) expectRoundTrip(x, rows.find((g) => g.decision_id === x.decision_id)!);
    } finally {
      store.close();
    }
    const missing = pd(['sink', 'decisions', '--to', 's3://no-such-bucket/x', '--once'], prefix, env);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/PD_ERR_STORE_NOT_FOUND.*no-such-bucket/);
  });
});

describe('sink flags', () => {
  it('a bad flag or argument exits 2 with a message naming it, before touching Redis or the store', async () => {
    const cases: [string[], RegExp][] = [
      [['sink', 'decisions', '--to', 'DIR', '--batch-rows', '0'], /--batch-rows must be between 1 and 1000000, got 0/],
      [['sink', 'decisions', '--to', 'DIR', '--max-wait-ms', 'soon'], /--max-wait-ms must be an integer, got 'soon'/],
      [['sink', 'decisions', '--to', 'DIR', '--group', 'a b'], /--group must be 1-64 letters/],
      [['sink', 'decisionz', '--to', 'DIR'], /decisionz.*Allowed choices are decisions, outcomes/],
      [['sink', 'outcomes'], /required option '--to <dir\|s3:\/\/bucket\/prefix>' not specified/],
      [['sink', 'outcomes', '--to', 's3://Bad_Bucket/x'], /PD_ERR_STORE_URL: s3:\/\/Bad_Bucket\/x/],
    ];
    // in parallel: each is a CLI start-up; an unreachable Redis proves none of them connects
    const results = await Promise.all(
      cases.map(([args]) => pdAsync(args.map((a) => (a === 'DIR' ? path.join(tmp, 'never') : a)), 'pdtest-sink-flags-unused', { PAYDECIDE_REDIS_URL: 'redis://127.0.0.1:1' })),
    );
    for (const [i, [args, msg]] of cases.entries()) {
      expect(results[i].code, `${args.join(' ')}: ${results[i].err}`).toBe(2);
      expect(results[i].err).toMatch(msg);
    }
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});
