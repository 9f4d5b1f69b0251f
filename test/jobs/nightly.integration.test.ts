/**
 * The nightly end to end against real DuckDB, ONNX Runtime and Redis: publish, idempotent
 * chunks, failed validation, corrupt input, prefix isolation, and a worker killed mid-run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { loadConfig, type Config } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { decodeRecord } from '../../core/score-record-codec';
import { ScoreStore } from '../../core/score-store';
import { slotCount } from '../../core/slot';
import { snapshotDirFor, processChunk, type ChunkPayload } from '../../jobs/nightly/chunk-job';
import { runNightly } from '../../jobs/nightly/run-nightly';
import { stateFile } from '../../jobs/features/payment-state-file';
import { createChunkContext } from '../../jobs/nightly/chunk-context';
import { generateWorld, readWorldManifest } from '../../jobs/world';
import { dropPrefix, dumpPrefix, keysUnder, REDIS_URL, testPrefix } from '../helpers/redis-prefix';

const ROOT = path.resolve(__dirname, '..', '..');
const DATE = '2026-06-30';
const USERS = 3000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-nightly-'));
const world = path.join(tmp, 'world');
const modelsDir = path.join(tmp, 'models');
const log = createLogger('silent');
const prefixes: string[] = [];
let redis: Redis;

function cfgFor(prefix: string, extra: Record<string, string> = {}): Config {
  prefixes.push(prefix);
  return loadConfig({ PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_PREFIX: prefix, PAYDECIDE_HOME: tmp, PAYDECIDE_MODELS_DIR: modelsDir, PAYDECIDE_CHUNK_BUCKETS: '2', PAYDECIDE_DUCKDB_MEMORY: '2GB', ...extra });
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await generateWorld({ out: world, users: USERS, days: 90, date: DATE, seed: 7, buckets: 8, duck: { threads: 2, memory: '2GB' } });
});
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  redis.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('nightly', () => {
  const prefix = testPrefix('nightly');
  let cfg: Config;
  let first: Awaited<ReturnType<typeof runNightly>>;

  it('publishes every user of the world and flips the live version', async () => {
    cfg = cfgFor(prefix);
    first = await runNightly(cfg, { dataDir: world, asOf: DATE, logger: log });
    const store = new ScoreStore(redis, prefix);
    expect(await store.liveVersion()).toBe(first.version);
    expect(first.users).toBe(first.expectedUsers);
    expect(first.expectedUsers).toBeGreaterThan(USERS * 0.9);
    expect(await store.countUsers(first.version)).toBe(first.users);
    expect(first.checks.every((c) => c.ok)).toBe(true);
    const rec = await store.readRecord('123');
    expect(rec).not.toBeNull();
    const d = decodeRecord(rec!.record);
    expect(d.scores).toHaveLength(ACTIONS.length);
    for (const s of d.scores) expect(s).toBeGreaterThanOrEqual(0);
    expect(d.gates.none).toBe(true);
    // The feature snapshot was written as Parquet partitioned by bucket.
    expect(fs.readdirSync(snapshotDirFor(world, DATE)).filter((d) => d.startsWith('bucket=')).length).toBe(8);
  });

  it('a rerun chunk writes the same bytes', async () => {
    const store = new ScoreStore(redis, prefix);
    const ctx = await createChunkContext(cfg, store);
    const m = readWorldManifest(world);
    const version = 'rerun-test';
    const slots = slotCount(m.users, m.buckets, cfg.usersPerSlot);
    try {
      await store.beginVersion(version, { users: m.users, slots, buckets: m.buckets, modelVersion: first.modelVersion, asOf: DATE });
      const payload: ChunkPayload = { version, chunkIndex: 1, asOf: DATE, dataDir: world, snapshotDir: path.join(tmp, 'rerun-snapshot'), buckets: m.buckets, bucketLo: 2, bucketHi: 4, slots, modelVersion: first.modelVersion };
      const r1 = await processChunk(payload, ctx.deps());
      expect(r1.users).toBeGreaterThan(0);
      const once = await dumpPrefix(redis, prefix, `:s:${version}:`);
      const r2 = await processChunk(payload, ctx.deps());
      const twice = await dumpPrefix(redis, prefix, `:s:${version}:`);
      expect(r2.users).toBe(r1.users);
      expect(twice.size).toBeGreaterThan(0);
      expect([...twice.entries()]).toEqual([...once.entries()]);
      // And the bytes equal what the nightly published for the same users.
      const live = await dumpPrefix(redis, prefix, `:s:${first.version}:`);
      for (const [k, v] of once) expect(live.get(k.replace(`:s:${version}:`, `:s:${first.version}:`))).toBe(v);
    } finally {
      await store.deleteVersion(version);
      await ctx.close();
    }
  });

  it('failed validation keeps the previous version live and leaves no keys of the new one', async () => {
    const strict = cfgFor(prefix, { PAYDECIDE_MAX_MEAN_SHIFT: '0' });
    prefixes.pop();
    const err = await runNightly(strict, { dataDir: world, asOf: '2026-06-20', logger: log }).catch((e) => e);
    expect(err).toBeInstanceOf(PaydecideError);
    expect(err.code).toBe(ErrorCodes.VALIDATION_FAILED);
    expect(err.message).toMatch(/score_distribution/);
    const store = new ScoreStore(redis, prefix);
    expect(await store.liveVersion()).toBe(first.version);
    const versions = new Set((await keysUnder(redis, `${prefix}:s`)).map((k) => k.split(':')[2]));
    expect([...versions]).toEqual([first.version]);
  });

  it('corrupt input publishes nothing and exits with an error naming the file', async () => {
    const bad = path.join(tmp, 'bad-world');
    fs.cpSync(world, bad, { recursive: true });
    const m = readWorldManifest(bad);
    const victim = path.join(bad, m.files.payments[0]);
    const buf = fs.readFileSync(victim);
    buf.fill(0x41, Math.floor(buf.length / 3), Math.floor(buf.length / 3) + 64);
    fs.writeFileSync(victim, buf);
    const err = await runNightly(cfg, { dataDir: bad, asOf: DATE, logger: log }).catch((e) => e);
    expect(err, String(err?.stack)).toBeInstanceOf(PaydecideError);
    expect(err.message, err.message).toContain(path.basename(victim));
    expect(await new ScoreStore(redis, prefix).liveVersion()).toBe(first.version);
    const versions = new Set((await keysUnder(redis, `${prefix}:s`)).map((k) => k.split(':')[2]));
    expect([...versions]).toEqual([first.version]);
  });

  it('an unknown date is refused before anything runs', async () => {
    const err = await runNightly(cfg, { dataDir: world, asOf: '2027-01-01', logger: log }).catch((e) => e);
    expect(err.code).toBe(ErrorCodes.UNKNOWN_DATE);
  });

  it('a run under another prefix does not touch this prefix', async () => {
    const before = await dumpPrefix(redis, prefix);
    const other = cfgFor(testPrefix('other'));
    const r = await runNightly(other, { dataDir: world, asOf: DATE, logger: log });
    expect(r.users).toBe(first.users);
    const after = await dumpPrefix(redis, prefix);
    // BullMQ's stalled-check markers expire on their own (PX = the stalled interval)
    const stable = (m: Map<string, unknown>) => [...m.entries()].filter(([k]) => !k.endsWith(':stalled-check'));
    expect(stable(after).map(([k]) => k)).toEqual(stable(before).map(([k]) => k));
    expect(stable(after)).toEqual(stable(before));
  });
});

describe('the next night', () => {
  it("moves every chunk's payment state on by a day and publishes what a full rebuild publishes", async () => {
    const copy = path.join(tmp, 'world-next');
    fs.cpSync(world, copy, { recursive: true });
    const next = '2026-07-01';
    await generateWorld({ out: copy, users: USERS, days: 90, date: next, seed: 7, buckets: 8, duck: { threads: 2, memory: '2GB' } });
    const pInc = testPrefix('inc');
    const pFull = testPrefix('full');
    await runNightly(cfgFor(pInc), { dataDir: copy, asOf: DATE, full: true, logger: log });
    const inc = await runNightly(cfgFor(pInc), { dataDir: copy, asOf: next, logger: log });
    expect(inc.featureModes).toMatchObject({ incremental: inc.chunks, full: 0 });
    const full = await runNightly(cfgFor(pFull), { dataDir: copy, asOf: next, full: true, logger: log });
    expect(full.featureModes).toMatchObject({ incremental: 0, full: full.chunks, fullReasons: ['a full rebuild was asked for'] });
    expect(inc.users).toBe(full.users);
    const a = new ScoreStore(redis, pInc);
    const b = new ScoreStore(redis, pFull);
    for (let u = 0; u < USERS; u += 7) {
      const ra = await a.readRecord(String(u));
      const rb = await b.readRecord(String(u));
      expect(ra?.record.equals(rb!.record), `user ${u}`).toBe(true);
    }
    // yesterday's state stays for a rerun, older ones go; today's is there for tomorrow
    const dir = path.dirname(stateFile(copy, 0, 2, next));
    expect(fs.readdirSync(dir).sort()).toEqual([`as_of=${DATE}.bin`, `as_of=${next}.bin`]);
  }, 180_000);
});

describe('a worker killed mid-run', () => {
  it('has its chunk taken over; every user is published exactly once', async () => {
    const prefix = testPrefix('kill');
    const env = { PAYDECIDE_LOCK_MS: '3000', PAYDECIDE_STALLED_MS: '1000', PAYDECIDE_CHUNK_BUCKETS: '1' };
    const cfg = cfgFor(prefix, env);
    const childEnv = { ...process.env, PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_PREFIX: prefix, PAYDECIDE_MODELS_DIR: modelsDir, PAYDECIDE_HOME: tmp, PAYDECIDE_LOG_LEVEL: 'info', ...env };
    const worker = spawn(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), 'worker'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let killed = false;
    let chunksSeenByChild = 0;
    worker.stderr.on('data', (b: Buffer) => {
      // Kill the worker as soon as it has started its second chunk (its first is done).
      chunksSeenByChild += (b.toString().match(/"chunk done"/g) ?? []).length;
      if (!killed && chunksSeenByChild >= 1) {
        killed = true;
        worker.kill('SIGKILL');
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    // The coordinator runs no local worker until the child has been killed.
    const run = runNightly(cfg, { dataDir: world, asOf: DATE, logger: log, workers: 0 });
    const takeover = (async () => {
      while (!killed) await new Promise((r) => setTimeout(r, 100));
      const { startWorkers } = await import('../../jobs/nightly/worker-runtime');
      const r2 = new Redis(REDIS_URL);
      const rt = await startWorkers(cfg, r2, log);
      return { rt, r2 };
    })();
    const result = await run;
    const { rt, r2 } = await takeover;
    await rt.close();
    r2.disconnect();
    expect(killed).toBe(true);
    const store = new ScoreStore(redis, prefix);
    expect(await store.liveVersion()).toBe(result.version);
    expect(result.users).toBe(result.expectedUsers);
    expect(await store.countUsers(result.version)).toBe(result.expectedUsers);
  });
});
