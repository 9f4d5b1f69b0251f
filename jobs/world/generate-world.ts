/**
 * The deterministic synthetic payments world (docs/world-schema.md): users with latent traits,
 * payments, ~40 campaigns, the logging policy's decision log, delayed outcomes with known
 * heterogeneous treatment effects, and the truth behind them, as bucket-partitioned Parquet.
 *
 * Everything is SQL in sql/gen/ on one DuckDB instance; every random draw is DuckDB's hash() of
 * (seed, ids, tag), so the same seed gives byte-identical files (same DuckDB version), and the
 * payments of user u on day d depend only on (seed, u, d): a world generated to D and extended to
 * D2 equals one generated straight to D2 from the same start.
 *
 * Work goes by chunks of buckets (~200k users): per chunk, payments -> decisions -> outcomes in
 * memory, then one COPY per bucket and table into a staging folder. Files are moved into place
 * and `world.json` (with the sha256 of every file) is written last, atomically.
 */
import { FX_PER_USD } from '../../core/currency';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DuckDBConnection } from '@duckdb/node-api';
import { addDays } from '../../core/dates';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { closeDuckDB, fillTemplate, loadSql, openDuckDB, quoteIdent, sqlString } from '../duckdb';
import {
  WORLD_MANIFEST_FILE,
  WORLD_TABLES,
  bucketOfFile,
  readWorldManifest,
  sha256File,
  type WorldManifest,
  type WorldTable,
} from './world-manifest';

export interface GenerateProgress {
  stage: string;
  done: number;
  total: number;
  rows?: number;
}

export interface GenerateOptions {
  /** World directory (created if absent). If it holds a world.json, the world is extended. */
  out: string;
  /** Number of users (required for a new world; ignored when extending: the world's own count is kept). */
  users?: number;
  /** Days of history before `date` (ignored when extending: the start date is kept). 1..730. */
  days: number;
  /** As-of date YYYY-MM-DD, exclusive: data lies in [date - days, date). */
  date: string;
  /** Seed of every random draw (ignored when extending). */
  seed: number;
  /** Hive partitions per table, bucket = md5_number_lower(user_id) % buckets (ignored when extending). 1..4096. */
  buckets: number;
  duck: { threads: number; memory: string };
  onProgress?: (p: GenerateProgress) => void;
  logger?: Logger;
}

/** Identifies the generator (and its draw scheme) in world.json. */
export const GENERATOR_ID = 'paydecide-gen/1';
/** Days of payment history before the logging policy starts deciding (capped at a third of the first run). */
export const DECISION_WARMUP_DAYS = 30;
/** Longest attribution window (days): late outcomes of decisions this old can still arrive. */
const MAX_WINDOW_DAYS = 30;
/** Look-back of a CRM decision's context (its last payment), days. */
const CRM_CONTEXT_DAYS = 14;
export const MAX_DAYS = 730;
export const MAX_BUCKETS = 4096;
/** Users per in-memory chunk: bounds memory (~5M payments) while keeping statements large. */
const CHUNK_USERS = 200_000;
const STAGING_DIR = '.gen-tmp';

/** Currencies and the fixed rates of sql/gen/setup.sql (units per USD). */
export const WORLD_FX_PER_USD: Readonly<Record<string, number>> = FX_PER_USD;

const DAY_MS = 86_400_000;

function badFlag(flag: string, message: string, value?: unknown): PaydecideError {
  return new PaydecideError(ErrorCodes.BAD_FLAG, `${flag} ${message}`, { exitCode: 2, details: { flag, value } });
}

function parseDate(s: string): number | undefined {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return undefined;
  const t = Date.parse(`${s}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s) return undefined;
  return t;
}
const fmtDate = (t: number): string => new Date(t).toISOString().slice(0, 10);
const compact = (d: string): string => d.replaceAll('-', '');

/** Validates the options; errors name the CLI flag (PD_ERR_BAD_FLAG, exit code 2). */
export function validateGenerateOptions(opts: GenerateOptions): void {
  if (typeof opts.out !== 'string' || opts.out.trim() === '') throw badFlag('--out', 'must be a directory path', opts.out);
  if (opts.users !== undefined && (!Number.isInteger(opts.users) || opts.users < 1 || opts.users > 100_000_000)) throw badFlag('--users', 'must be an integer from 1 to 100000000', opts.users);
  if (!Number.isInteger(opts.days) || opts.days < 1 || opts.days > MAX_DAYS) throw badFlag('--days', `must be an integer from 1 to ${MAX_DAYS}`, opts.days);
  const t = parseDate(opts.date);
  if (t === undefined) throw badFlag('--date', 'must be a calendar date YYYY-MM-DD', opts.date);
  if (t - opts.days * DAY_MS < Date.parse('1971-01-01T00:00:00Z')) throw badFlag('--date', 'minus --days must not be before 1971-01-01', opts.date);
  if (!Number.isSafeInteger(opts.seed)) throw badFlag('--seed', 'must be an integer', opts.seed);
  if (!Number.isInteger(opts.buckets) || opts.buckets < 1 || opts.buckets > MAX_BUCKETS) throw badFlag('--buckets', `must be an integer from 1 to ${MAX_BUCKETS}`, opts.buckets);
  if (!Number.isInteger(opts.duck?.threads) || opts.duck.threads < 1) throw badFlag('--threads', 'must be an integer >= 1', opts.duck?.threads);
  if (typeof opts.duck?.memory !== 'string' || !/^\d+(\.\d+)?\s*(MB|GB|MiB|GiB)$/i.test(opts.duck.memory)) throw badFlag('--memory', 'must look like 4GB or 512MB', opts.duck?.memory);
}

// ---------------------------------------------------------------------------------------------
// SQL running: files from sql/gen, one statement at a time, binding the $params each one uses.

type Params = Record<string, string | number>;

function statements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, '')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

async function runStatements(conn: DuckDBConnection, name: string, sql: string, params: Params): Promise<void> {
  for (const stmt of statements(sql)) await runOne(conn, name, stmt, params);
}

async function runOne(conn: DuckDBConnection, name: string, stmt: string, params: Params) {
  const used = [...new Set([...stmt.matchAll(/\$([A-Za-z_]\w*)/g)].map((m) => m[1]!))];
  const values: Record<string, string | bigint> = {};
  for (const k of used) {
    const v = params[k];
    if (v === undefined) throw new Error(`sql/${name}.sql: no value for $${k}`);
    values[k] = typeof v === 'number' ? BigInt(v) : v;
  }
  try {
    return await conn.runAndReadAll(stmt, used.length ? values : undefined);
  } catch (e) {
    throw new PaydecideError(ErrorCodes.RUN_FAILED, `sql/${name}.sql failed: ${(e as Error).message}`, { cause: e });
  }
}

async function runFile(conn: DuckDBConnection, name: string, params: Params = {}, fragments?: Record<string, string>, log?: Logger): Promise<void> {
  const sql = fragments ? fillTemplate(loadSql(name), fragments) : loadSql(name);
  const t0 = Date.now();
  await runStatements(conn, name, sql, params);
  log?.debug({ sql: name, ms: Date.now() - t0 }, 'sql done');
}

// ---------------------------------------------------------------------------------------------
// Output tables: where each comes from and how it is filtered, ordered and named.

interface OutSpec {
  table: WorldTable;
  source: string;
  drop: string[];
  order: string[];
  /** Time column limited to the run's [lo, hi) range; none for users/truth (written once). */
  ts?: string;
}

const USERS_OUT: OutSpec = { table: 'users', source: 'users_out', drop: ['uid'], order: ['uid'] };
const TRUTH_OUT: OutSpec = { table: 'truth', source: 'truth_core', drop: ['uid'], order: ['uid'] };
const CHUNK_OUTS: OutSpec[] = [
  { table: 'payments', source: 'pay', drop: ['uid', 'eday', 'j'], order: ['uid', 'ts', 'payment_id'], ts: 'ts' },
  { table: 'decision_log', source: 'dec', drop: ['uid'], order: ['uid', 'decision_ts', 'decision_id'], ts: 'decision_ts' },
  { table: 'outcomes', source: 'outc', drop: ['uid'], order: ['uid', 'event_ts', 'decision_id', 'goal'], ts: 'event_ts' },
];

function filterFragment(spec: OutSpec): string {
  return spec.ts ? `${quoteIdent(spec.ts)} >= $lo::TIMESTAMP AND ${quoteIdent(spec.ts)} < $hi::TIMESTAMP` : 'TRUE';
}

interface Plan {
  extend: boolean;
  prev?: WorldManifest;
  seed: number;
  users: number;
  buckets: number;
  start: string;
  /** Range written by this run: [lo, hi). */
  lo: string;
  hi: string;
  decisionStart: string;
}

interface Written {
  rel: string;
  rows: number;
}

/**
 * Generates a world into `opts.out`, or extends the world already there to a later `opts.date`
 * (appending the new days' payments, decisions and outcomes, including late outcomes of earlier
 * decisions; users, campaigns and truth stay as they are). Returns the manifest written.
 */
export async function generateWorld(opts: GenerateOptions): Promise<WorldManifest> {
  validateGenerateOptions(opts);
  const out = path.resolve(opts.out);
  const log = opts.logger;
  const progress = (p: GenerateProgress) => opts.onProgress?.(p);
  const plan = makePlan(out, opts);
  const staging = path.join(out, STAGING_DIR);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  log?.info({ out, ...planSummary(plan) }, plan.extend ? 'extending world' : 'generating world');

  const t0 = Date.now();
  const duck = await openDuckDB({ threads: opts.duck.threads, memory: opts.duck.memory, tempDir: path.join(staging, 'spill') });
  const written = new Map<WorldTable, Written[]>(WORLD_TABLES.map((t) => [t, []]));
  let duckdbVersion = '';
  let generated = false;
  try {
    const { conn } = duck;
    duckdbVersion = String((await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJS()[0]!.v);
    if (plan.prev?.duckdb_version && plan.prev.duckdb_version !== duckdbVersion) {
      log?.warn({ was: plan.prev.duckdb_version, now: duckdbVersion }, 'DuckDB version differs from the one that wrote this world: hash() draws may differ, so the extension may not match a fresh generation');
    }
    const base: Params = { seed: plan.seed, users: plan.users, buckets: plan.buckets, start: plan.start };
    progress({ stage: 'users', done: 0, total: 1 });
    await runFile(conn, 'gen/setup', base, undefined, log);
    await runFile(conn, 'gen/users', base, undefined, log);
    await runFile(conn, 'gen/truth', base, undefined, log);
    await runFile(conn, 'gen/campaigns', base, undefined, log);
    const counts = await bucketCounts(conn, USERS_OUT, {});
    if (!plan.extend) {
      for (const spec of [USERS_OUT, TRUTH_OUT]) {
        written.get(spec.table)!.push(...(await copyBuckets(conn, spec, staging, plan, [...counts.keys()], {})));
      }
      const rel = 'campaigns/campaigns.parquet';
      fs.mkdirSync(path.join(staging, 'campaigns'), { recursive: true });
      await runFile(conn, 'gen/copy-campaigns', {}, { path: sqlString(path.join(staging, rel)) });
      const nc = (await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM campaigns_core')).getRowObjectsJS()[0]!.n;
      written.get('campaigns')!.push({ rel, rows: Number(nc) });
    }
    progress({ stage: 'users', done: 1, total: 1, rows: plan.users });
    log?.debug({ ms: Date.now() - t0 }, 'users, truth and campaigns ready');

    // Decisions are regenerated from MAX_WINDOW_DAYS (+1 for decisions just after midnight of a
    // payment late the day before) ahead of the range so that their late outcomes land in it;
    // payments from CRM_CONTEXT_DAYS ahead of that for the CRM context.
    const decFrom = maxDate(plan.decisionStart, addDays(plan.lo, -(MAX_WINDOW_DAYS + 1)));
    const payFrom = minDate(plan.lo, maxDate(plan.start, addDays(decFrom, -CRM_CONTEXT_DAYS)));
    const range: Params = { lo: plan.lo, hi: plan.hi };
    const chunks = chunkBuckets(counts, plan.buckets, CHUNK_USERS);
    let rowsSoFar = 0;
    progress({ stage: 'activity', done: 0, total: chunks.length, rows: 0 });
    for (let c = 0; c < chunks.length; c++) {
      const [b0, b1] = chunks[c]!;
      const tc = Date.now();
      await runFile(conn, 'gen/chunk-users', { b0, b1 }, undefined, log);
      await runFile(conn, 'gen/payments', { seed: plan.seed, from: payFrom, to: plan.hi }, undefined, log);
      await runFile(conn, 'gen/decisions', { seed: plan.seed, from: decFrom, to: plan.hi }, undefined, log);
      await runFile(conn, 'gen/outcomes', { seed: plan.seed, ...range }, undefined, log);
      for (const spec of CHUNK_OUTS) {
        const bc = await bucketCounts(conn, spec, range);
        const files = await copyBuckets(conn, spec, staging, plan, [...bc.keys()], range, bc);
        written.get(spec.table)!.push(...files);
        rowsSoFar += files.reduce((s, f) => s + f.rows, 0);
      }
      log?.debug({ chunk: c, buckets: [b0, b1], ms: Date.now() - tc }, 'chunk written');
      progress({ stage: 'activity', done: c + 1, total: chunks.length, rows: rowsSoFar });
    }
    for (const t of ['cu', 'pay', 'dec', 'outc']) await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
    generated = true;
  } finally {
    closeDuckDB(duck);
    // On failure nothing was moved into the world: dropping the staging folder leaves it as it was.
    if (!generated) fs.rmSync(staging, { recursive: true, force: true });
  }

  // Checksums of the new files, then move them into place, then the manifest.
  const newFiles = WORLD_TABLES.flatMap((t) => written.get(t)!.map((w) => w.rel));
  const sums: Record<string, string> = {};
  let done = 0;
  progress({ stage: 'checksums', done, total: newFiles.length });
  await forEachLimit(newFiles, 4, async (rel) => {
    sums[rel] = await sha256File(path.join(staging, ...rel.split('/')));
    progress({ stage: 'checksums', done: ++done, total: newFiles.length });
  });
  for (const rel of newFiles) {
    const to = path.join(out, ...rel.split('/'));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.renameSync(path.join(staging, ...rel.split('/')), to);
  }
  const manifest = buildManifest(plan, written, sums, duckdbVersion);
  writeJsonAtomic(path.join(out, WORLD_MANIFEST_FILE), manifest);
  fs.rmSync(staging, { recursive: true, force: true });
  progress({ stage: 'manifest', done: 1, total: 1 });
  log?.info({ out, ms: Date.now() - t0, rows: manifest.rows, files: newFiles.length }, plan.extend ? 'world extended' : 'world generated');
  return manifest;
}

function planSummary(p: Plan) {
  return { seed: p.seed, users: p.users, buckets: p.buckets, start: p.start, from: p.lo, to: p.hi, decisionStart: p.decisionStart };
}

/** Decides between a fresh world and an extension, and cleans what a crashed run left behind. */
function makePlan(out: string, opts: GenerateOptions): Plan {
  const manifestFile = path.join(out, WORLD_MANIFEST_FILE);
  if (fs.existsSync(manifestFile)) {
    const prev = readWorldManifest(out);
    if (prev.generator !== GENERATOR_ID || !prev.decision_start_date) {
      throw new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${manifestFile}: field generator: the world was not written by ${GENERATOR_ID}, so it cannot be extended`, { details: { file: manifestFile } });
    }
    if (opts.date <= prev.date) {
      throw badFlag('--date', `${opts.date} must be after the world's as-of date ${prev.date} (${manifestFile}): a world can only be extended forward`, opts.date);
    }
    const span = Math.round((parseDate(opts.date)! - parseDate(prev.start_date)!) / DAY_MS);
    if (span > MAX_DAYS) throw badFlag('--date', `${opts.date} would make the world ${span} days long (start ${prev.start_date}); at most ${MAX_DAYS}`, opts.date);
    for (const [flag, mine, theirs] of [['--seed', opts.seed, prev.seed], ['--users', opts.users, prev.users], ['--buckets', opts.buckets, prev.buckets]] as const) {
      if (mine !== undefined && mine !== theirs) opts.logger?.warn({ flag, given: mine, world: theirs }, `${flag} ignored when extending: the world keeps its own value`);
    }
    removeOrphans(out, prev, opts.logger);
    return {
      extend: true, prev, seed: prev.seed, users: prev.users, buckets: prev.buckets,
      start: prev.start_date, lo: prev.date, hi: opts.date, decisionStart: prev.decision_start_date,
    };
  }
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw badFlag('--out', `${out} exists and is not a directory`, opts.out);
    const entries = fs.readdirSync(out);
    const ours = (e: string) => (WORLD_TABLES as readonly string[]).includes(e) || e === STAGING_DIR || e.startsWith(`${WORLD_MANIFEST_FILE}.tmp`);
    const foreign = entries.filter((e) => !ours(e));
    if (foreign.length > 0) {
      throw badFlag('--out', `${out} is not empty and holds no ${WORLD_MANIFEST_FILE} (found ${foreign.slice(0, 3).join(', ')}): refusing to write a world into it`, opts.out);
    }
    if (entries.length > 0) opts.logger?.warn({ out, entries }, 'removing the leftovers of an incomplete world');
    for (const e of entries) fs.rmSync(path.join(out, e), { recursive: true, force: true });
  }
  if (opts.users === undefined) throw badFlag('--users', `is required for a new world (${out} holds none to extend)`);
  fs.mkdirSync(out, { recursive: true });
  const start = fmtDate(parseDate(opts.date)! - opts.days * DAY_MS);
  return {
    extend: false, seed: opts.seed, users: opts.users, buckets: opts.buckets, start, lo: start, hi: opts.date,
    decisionStart: addDays(start, Math.min(DECISION_WARMUP_DAYS, Math.floor(opts.days / 3))),
  };
}

/** Deletes Parquet files under the world's table folders that world.json does not list (a crashed extension's). */
function removeOrphans(out: string, prev: WorldManifest, log?: Logger): void {
  const listed = new Set(WORLD_TABLES.flatMap((t) => prev.files[t]));
  for (const t of WORLD_TABLES) {
    const dir = path.join(out, t);
    if (!fs.existsSync(dir)) continue;
    for (const rel of walk(dir)) {
      const r = `${t}/${rel}`;
      if (r.endsWith('.parquet') && !listed.has(r)) {
        log?.warn({ file: r }, 'removing a file world.json does not list');
        fs.rmSync(path.join(out, ...r.split('/')));
      }
    }
  }
}

function walk(dir: string, prefix = ''): string[] {
  const res: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) res.push(...walk(path.join(dir, e.name), rel));
    else res.push(rel);
  }
  return res;
}

async function bucketCounts(conn: DuckDBConnection, spec: OutSpec, range: Params): Promise<Map<number, number>> {
  const sql = fillTemplate(loadSql('gen/bucket-counts'), { source: quoteIdent(spec.source), filter: filterFragment(spec) });
  const stmt = statements(sql)[0]!;
  const reader = await runOne(conn, 'gen/bucket-counts', stmt, range);
  const m = new Map<number, number>();
  for (const r of reader.getRowObjectsJS()) m.set(Number(r.bucket), Number(r.n));
  return m;
}

/** One COPY per non-empty bucket into the staging folder; returns the relative paths written. */
async function copyBuckets(
  conn: DuckDBConnection, spec: OutSpec, staging: string, plan: Plan, buckets: number[], range: Params, counts?: Map<number, number>,
): Promise<Written[]> {
  const name = `${spec.table}_${compact(spec.ts ? plan.lo : plan.start)}_${compact(plan.hi)}.parquet`;
  const template = loadSql('gen/copy-bucket');
  const res: Written[] = [];
  const rowsOf = counts ?? (await bucketCounts(conn, spec, range));
  for (const b of buckets) {
    const rows = rowsOf.get(b) ?? 0;
    if (rows === 0) continue;
    const rel = `${spec.table}/bucket=${b}/${name}`;
    const file = path.join(staging, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const sql = fillTemplate(template, {
      source: quoteIdent(spec.source),
      drop: spec.drop.map(quoteIdent).join(', '),
      filter: filterFragment(spec),
      order: spec.order.map(quoteIdent).join(', '),
      path: sqlString(file),
    });
    await runStatements(conn, 'gen/copy-bucket', sql, { bucket: b, ...range });
    res.push({ rel, rows });
  }
  return res;
}

/** Groups consecutive buckets into chunks of at most ~maxUsers users (a bucket is never split). */
function chunkBuckets(counts: Map<number, number>, buckets: number, maxUsers: number): [number, number][] {
  const chunks: [number, number][] = [];
  let b0 = 0;
  let n = 0;
  for (let b = 0; b < buckets; b++) {
    const c = counts.get(b) ?? 0;
    if (n > 0 && n + c > maxUsers) {
      chunks.push([b0, b]);
      b0 = b;
      n = 0;
    }
    n += c;
  }
  chunks.push([b0, buckets]);
  return chunks;
}

function buildManifest(plan: Plan, written: Map<WorldTable, Written[]>, sums: Record<string, string>, duckdbVersion: string): WorldManifest {
  const prev = plan.prev;
  const files = {} as WorldManifest['files'];
  const rows: Record<string, number> = {};
  for (const t of WORLD_TABLES) {
    const mine = written.get(t)!;
    files[t] = sortFiles([...(prev?.files[t] ?? []), ...mine.map((w) => w.rel)]);
    rows[t] = (prev?.rows?.[t] ?? 0) + mine.reduce((s, w) => s + w.rows, 0);
  }
  const days = Math.round((parseDate(plan.hi)! - parseDate(plan.start)!) / DAY_MS);
  return {
    format: 1,
    generator: GENERATOR_ID,
    seed: plan.seed,
    users: plan.users,
    buckets: plan.buckets,
    start_date: plan.start,
    date: plan.hi,
    days,
    decision_start_date: plan.decisionStart,
    currency: Object.keys(WORLD_FX_PER_USD),
    fx_per_usd: { ...WORLD_FX_PER_USD },
    files,
    sha256: { ...(prev?.sha256 ?? {}), ...sums },
    rows,
    ranges: [...(prev?.ranges ?? []), { from: plan.lo, to: plan.hi }],
    duckdb_version: duckdbVersion,
    created_at: prev?.created_at ?? new Date().toISOString(),
  };
}

/** Files by bucket (numeric), then name: the order readers and worldFiles() see. */
function sortFiles(files: string[]): string[] {
  return [...files].sort((a, b) => (bucketOfFile(a) ?? -1) - (bucketOfFile(b) ?? -1) || (a < b ? -1 : a > b ? 1 : 0));
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const maxDate = (a: string, b: string): string => (a > b ? a : b);
const minDate = (a: string, b: string): string => (a < b ? a : b);

