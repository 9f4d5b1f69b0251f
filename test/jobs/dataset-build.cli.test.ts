/**
 * `paydecide dataset build` end to end, as a data scientist training elsewhere would run it: the
 * real CLI in a child process over a small generated world, the Parquet file read back with a
 * second, independent reader (parquet-wasm, the Rust `parquet` crate — not DuckDB, which wrote
 * it), to a directory and to a loopback S3 server (test/helpers/s3-server.ts), from the world's
 * decision log or from a folder of decision-log files in the documented schema. Redis is pointed
 * at a closed port: with --data and --as-of the command must not need it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFER_ACTIONS } from '../../core/actions';
import { FEATURE_NAMES } from '../../core/feature-registry';
import { sqlString, sqlStringList } from '../../jobs/duckdb';
import { generateWorld, readWorldManifest, worldFiles } from '../../jobs/world';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';

const ROOT = path.resolve(__dirname, '..', '..');
const DATE = '2026-06-30';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-dscli-'));
const world = path.join(tmp, 'world');
/** The children's TMPDIR: the build's scratch folder must be gone when it exits, success or not. */
const childTmp = path.join(tmp, 'child-tmp');
let s3: S3TestServer;

function pd(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), ...args], {
    env: {
      ...process.env,
      // Nothing here may need Redis: a closed port makes any attempt fail loudly (exit 3).
      PAYDECIDE_REDIS_URL: 'redis://127.0.0.1:1',
      PAYDECIDE_HOME: path.join(tmp, 'home'),
      PAYDECIDE_LOG_LEVEL: 'warn',
      PAYDECIDE_DUCKDB_THREADS: '2',
      PAYDECIDE_S3_ENDPOINT: s3.endpoint,
      PAYDECIDE_S3_ACCESS_KEY_ID: s3.settings.credentials!.accessKeyId,
      PAYDECIDE_S3_SECRET_ACCESS_KEY: s3.settings.credentials!.secretAccessKey,
      PAYDECIDE_S3_MAX_ATTEMPTS: '2',
      TMPDIR: childTmp,
      ...env,
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function readTable(bytes: Uint8Array): Table {
  return tableFromIPC(readParquet(bytes).intoIPCStream());
}

interface DatasetJson {
  format: number;
  as_of: string;
  file: string;
  bytes: number;
  sha256: string;
  rows: number;
  splits: Record<string, { rows: number; start: string | null; end: string | null }>;
  labels_per_action: Record<string, { rows: number; positives: number }>;
  snapshot_dates: string[];
  attribution_windows_s: Record<string, number>;
  features: string[];
  columns: string[];
  sources: { decisions: number; outcomes: number };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The checks every dataset.parquet + dataset.json pair must pass. Returns the table. */
function checkDataset(parquet: Uint8Array, meta: DatasetJson): Table {
  expect(meta.format).toBe(1);
  expect(meta.as_of).toBe(DATE);
  expect(meta.file).toBe('dataset.parquet');
  expect(meta.bytes).toBe(parquet.byteLength);
  expect(meta.sha256).toBe(sha256(parquet));
  const t = readTable(parquet);
  const names = t.schema.fields.map((f) => f.name);
  // The documented columns, in the documented order.
  const want = [
    'decision_id', 'user_id', 'decision_ts', 'action', 'campaign_id', 'propensity', 'policy_version', 'surface',
    'ctx_amount_usd', 'ctx_mcc', 'ctx_channel', 'ctx_auth_outcome', 'label',
    ...OFFER_ACTIONS.map((a) => `y_${a}`), 'split', 'snapshot_date',
    ...FEATURE_NAMES.map((f) => `f_${f}`),
  ];
  expect(names).toEqual(want);
  expect(meta.columns).toEqual(want);
  expect(meta.features).toEqual(FEATURE_NAMES.map((f) => `f_${f}`));
  expect(t.numRows).toBe(meta.rows);
  expect(t.numRows).toBeGreaterThan(500);
  expect(Object.values(meta.splits).reduce((s, x) => s + x.rows, 0)).toBe(meta.rows);
  expect(Object.values(meta.labels_per_action).reduce((s, x) => s + x.rows, 0)).toBe(meta.rows);

  const label = t.getChild('label')!;
  expect(label.nullCount).toBe(0);
  const lab = label.toArray() as Uint8Array;
  let positives = 0;
  for (const v of lab) {
    if (v !== 0 && v !== 1) throw new Error(`label ${v} is not 0/1`);
    positives += v;
  }
  expect(positives).toBe(Object.values(meta.labels_per_action).reduce((s, x) => s + x.positives, 0));
  expect(positives).toBeGreaterThan(0);
  expect(positives).toBeLessThan(t.numRows);
  for (const a of OFFER_ACTIONS) {
    const y = t.getChild(`y_${a}`)!;
    for (let i = 0; i < t.numRows; i++) {
      const v = y.get(i);
      if (v !== null && v !== 0 && v !== 1) throw new Error(`y_${a}[${i}] = ${v}`);
    }
  }
  const action = t.getChild('action')!;
  const split = t.getChild('split')!;
  const prop = t.getChild('propensity')!.toArray() as Float64Array;
  const ts = t.getChild('decision_ts')!;
  const snap = t.getChild('snapshot_date')!;
  const ids = new Set<string>();
  for (let i = 0; i < t.numRows; i++) {
    const a = action.get(i) as string;
    expect(['none', ...OFFER_ACTIONS]).toContain(a);
    expect(['train', 'valid', 'test']).toContain(split.get(i));
    if (!(prop[i] > 0 && prop[i] <= 1)) throw new Error(`propensity ${prop[i]} at row ${i}`);
    // The label of an offer is its own goal's y.
    if (a !== 'none' && t.getChild(`y_${a}`)!.get(i) !== lab[i]) throw new Error(`row ${i}: label ${lab[i]} vs y_${a} ${t.getChild(`y_${a}`)!.get(i)}`);
    const tsMs = Number(ts.get(i));
    expect(tsMs).toBeLessThan(Date.parse(`${DATE}T00:00:00Z`));
    // The feature snapshot was dated on or before the decision's day.
    const snapMs = Number(snap.get(i));
    if (!(snapMs <= tsMs)) throw new Error(`row ${i}: snapshot ${new Date(snapMs).toISOString()} after decision ${new Date(tsMs).toISOString()}`);
    const id = t.getChild('decision_id')!.get(i) as string;
    if (ids.has(id)) throw new Error(`decision ${id} twice`);
    ids.add(id);
  }
  for (const f of FEATURE_NAMES) {
    const col = t.getChild(`f_${f}`)!;
    expect(col.nullCount, f).toBe(0);
    const v = col.toArray() as Float32Array;
    expect(v).toBeInstanceOf(Float32Array);
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new Error(`f_${f}[${i}] = ${v[i]}`);
  }
  return t;
}

function scratchLeft(): string[] {
  return fs.existsSync(childTmp) ? fs.readdirSync(childTmp).filter((f) => f.startsWith('pd-dataset-')) : [];
}

beforeAll(async () => {
  fs.mkdirSync(childTmp, { recursive: true });
  s3 = await startS3Server();
  await s3.createBucket('ml-data');
  await generateWorld({ out: world, users: 2000, days: 90, date: DATE, seed: 11, buckets: 8, duck: { threads: 2, memory: '1GB' } });
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('paydecide dataset build', () => {
  let local: { parquet: Uint8Array; meta: DatasetJson; table: Table } | undefined;

  it('writes dataset.parquet and dataset.json to a directory; parquet-wasm reads every documented column', () => {
    const out = path.join(tmp, 'out-local');
    const r = pd(['dataset', 'build', '--data', world, '--as-of', DATE, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(path.join(out, 'dataset.parquet'));
    expect(r.out).toMatch(/\d+ matured decisions as of 2026-06-30/);
    expect(fs.readdirSync(out).sort()).toEqual(['dataset.json', 'dataset.parquet']);
    const parquet = new Uint8Array(fs.readFileSync(path.join(out, 'dataset.parquet')));
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'dataset.json'), 'utf8')) as DatasetJson;
    const table = checkDataset(parquet, meta);
    local = { parquet, meta, table };
    // Every decision before the last 30 days has matured in full: no NULL y there.
    const cut = Date.parse(`${DATE}T00:00:00Z`) - 31 * 86_400_000;
    const ts = table.getChild('decision_ts')!;
    for (let i = 0; i < table.numRows; i++) {
      if (Number(ts.get(i)) >= cut) continue;
      for (const a of OFFER_ACTIONS) expect(table.getChild(`y_${a}`)!.get(i)).not.toBeNull();
    }
    // And in-session goals are known on every row.
    expect(table.getChild('y_card_on_file')!.nullCount).toBe(0);
    expect(table.getChild('y_installment_offer')!.nullCount).toBe(0);
    // Rows are in decision time order; splits follow it (train < valid < test).
    const order = ['train', 'valid', 'test'];
    let last = -Infinity;
    let lastSplit = 0;
    for (let i = 0; i < table.numRows; i++) {
      const t = Number(ts.get(i));
      const s = order.indexOf(table.getChild('split')!.get(i) as string);
      expect(t).toBeGreaterThanOrEqual(last);
      expect(s).toBeGreaterThanOrEqual(lastSplit);
      last = t;
      lastSplit = s;
    }
    expect(meta.sources).toEqual({ decisions: 8, outcomes: 8 });
    expect(scratchLeft()).toEqual([]);
  });

  it('--out s3://bucket/prefix writes both objects to the store (and --json prints the summary)', async () => {
    const r = pd(['dataset', 'build', '--data', world, '--as-of', DATE, '--out', 's3://ml-data/datasets/d1', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { out: string; rows: number; sha256: string; snapshotDates: string[] };
    expect(j.out).toBe('s3://ml-data/datasets/d1/dataset.parquet');
    expect(j.rows).toBe(local!.meta.rows);
    expect(j.snapshotDates).toEqual(local!.meta.snapshot_dates);
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.settings.credentials, forcePathStyle: true });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'ml-data', Prefix: 'datasets/d1/' }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['datasets/d1/dataset.json', 'datasets/d1/dataset.parquet']);
      const get = async (key: string) => new Uint8Array(await (await client.send(new GetObjectCommand({ Bucket: 'ml-data', Key: key }))).Body!.transformToByteArray());
      const parquet = await get('datasets/d1/dataset.parquet');
      const meta = JSON.parse(Buffer.from(await get('datasets/d1/dataset.json')).toString('utf8')) as DatasetJson;
      checkDataset(parquet, meta);
      // Same world, same date: the same rows as the local build. (Bytes are not compared across
      // runs: float sums under parallel aggregation need not be bit-identical.)
      expect(j.sha256).toBe(meta.sha256);
      expect(meta.rows).toBe(local!.meta.rows);
      expect(meta.splits).toEqual(local!.meta.splits);
      expect(meta.labels_per_action).toEqual(local!.meta.labels_per_action);
    } finally {
      client.destroy();
    }
    expect(scratchLeft()).toEqual([]);
  });

  it('a bucket that does not exist → exit 2, PD_ERR_STORE_NOT_FOUND, nothing written', async () => {
    const r = pd(['dataset', 'build', '--data', world, '--as-of', DATE, '--out', 's3://no-such-bucket/datasets/x']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/PD_ERR_STORE_NOT_FOUND.*no-such-bucket/);
    expect(r.out).toBe('');
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.settings.credentials, forcePathStyle: true });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'ml-data' }));
      // Only the objects of the previous test.
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['datasets/d1/dataset.json', 'datasets/d1/dataset.parquet']);
    } finally {
      client.destroy();
    }
    expect(scratchLeft()).toEqual([]);
  });

  it('bad flags exit 2 naming the flag', () => {
    const out = path.join(tmp, 'out-bad');
    const a = pd(['dataset', 'build', '--data', world, '--as-of', '2026-13-01', '--out', out]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--as-of must be a date YYYY-MM-DD, got '2026-13-01'/);
    const b = pd(['dataset', 'build', '--data', world, '--as-of', DATE, '--out', out, '--snapshot-every', '0']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--snapshot-every must be between 1 and 90/);
    const d = pd(['dataset', 'build', '--data', world, '--as-of', DATE, '--out', out, '--decisions', path.join(tmp, 'nowhere')]);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/PD_ERR_INPUT_MISSING.*--decisions.*nowhere/);
    expect(fs.existsSync(out)).toBe(false);
    expect(scratchLeft()).toEqual([]);
  });

  it('--decisions builds from a folder of decision-log Parquet in the documented schema', async () => {
    // Half the users' decisions (every decision of each kept user, so their labels and features
    // do not change), in the documented columns only, as two files in nested folders.
    const m = readWorldManifest(world);
    const dir = path.join(tmp, 'log-subset');
    fs.mkdirSync(path.join(dir, 'part=b'), { recursive: true });
    const cols = 'decision_id, user_id, bucket, decision_ts, action, campaign_id, propensity, policy_version, surface, ctx_amount_usd, ctx_mcc, ctx_channel, ctx_auth_outcome';
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    let kept: number;
    try {
      const src = `read_parquet(${sqlStringList(worldFiles(world, m, 'decision_log'))}, hive_partitioning = false)`;
      await conn.run(`CREATE TABLE sub AS SELECT ${cols} FROM ${src} WHERE user_id::INTEGER % 2 = 0`);
      await conn.run(`COPY (SELECT * FROM sub WHERE bucket < 4 ORDER BY decision_ts) TO ${sqlString(path.join(dir, 'a.parquet'))} (FORMAT parquet)`);
      await conn.run(`COPY (SELECT * FROM sub WHERE bucket >= 4 ORDER BY decision_ts) TO ${sqlString(path.join(dir, 'part=b', 'b.parquet'))} (FORMAT parquet)`);
      kept = Number((await conn.runAndReadAll('SELECT count(*) FROM sub')).getRows()[0][0]);
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not Parquet: ignored\n');
    expect(kept).toBeGreaterThan(100);

    const out = path.join(tmp, 'out-subset');
    const r = pd(['dataset', 'build', '--data', world, '--as-of', DATE, '--out', out, '--decisions', dir]);
    expect(r.code, r.err).toBe(0);
    const parquet = new Uint8Array(fs.readFileSync(path.join(out, 'dataset.parquet')));
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'dataset.json'), 'utf8')) as DatasetJson;
    const t = checkDataset(parquet, meta);
    expect(meta.sources).toEqual({ decisions: 2, outcomes: 8 });
    expect(t.numRows).toBeLessThan(local!.meta.rows);
    expect(t.numRows).toBeLessThanOrEqual(kept);

    // Exactly the full build's rows of the kept users, with the same labels and features.
    const full = local!.table;
    const key = (tb: Table, i: number, cs: string[]) => cs.map((c) => String(tb.getChild(c)!.get(i))).join('|');
    const compared = ['decision_id', 'user_id', 'action', 'label', ...OFFER_ACTIONS.map((a) => `y_${a}`), 'snapshot_date', 'f_pay_cnt_30d', 'f_offers_30d', 'f_goal_events_30d', 'f_days_since_last_offer'];
    const expected: string[] = [];
    for (let i = 0; i < full.numRows; i++) if (Number(full.getChild('user_id')!.get(i)) % 2 === 0) expected.push(key(full, i, compared));
    const got: string[] = [];
    for (let i = 0; i < t.numRows; i++) got.push(key(t, i, compared));
    expect(got.length).toBe(expected.length);
    expect(got.sort()).toEqual(expected.sort());
  });
});
