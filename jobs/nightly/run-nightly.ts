/**
 * The nightly coordinator: checks the input, makes sure a model is current (training the
 * baseline when the registry is empty), registers a new score version, adds the BullMQ flow
 * (one child per bucket range, parent = validate-and-flip), optionally runs a local worker, and
 * waits for the parent. A rerun of the same data/date/model while a run is unfinished resumes
 * it (same version, completed chunks are not redone). Any failure deletes the new version's keys:
 * the live version is untouched.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import type { Config } from '../../core/config';
import { ErrorCodes, PaydecideError, errorMessage } from '../../core/errors';
import { FEATURE_NAMES, FEATURE_SET_HASH } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { bullConnection, closeRedis, connectRedis } from '../../core/redis';
import { modelTagOf } from '../../core/score-record-codec';
import { ScoreStore } from '../../core/score-store';
import { slotCount } from '../../core/slot';
import { loadCurrent, type ModelManifest } from '../../models/registry';
import { closeDuckDB, openDuckDB, sqlStringList } from '../duckdb';
import { asInputError } from '../features/feature-snapshot';
import { trainAndPromote } from '../train/train-and-promote';
import { trainAndPromoteAdjuster } from '../train/train-adjuster';
import { loadCurrentAdjuster } from '../../models/adjuster-registry';
import { readWorldManifest, worldFiles, type WorldManifest } from '../world';
import type { ChunkPayload, ChunkResult } from './chunk-job';
import { snapshotDirFor } from './chunk-job';
import type { FinalizePayload, FinalizeResult } from './finalize-job';
import { bullPrefix, CHUNK_JOB, CHUNK_QUEUE, chunkJobId, FINALIZE_JOB, FINALIZE_QUEUE, finalizeJobId } from './queues';
import { startWorkers } from './worker-runtime';
import { loadCampaigns } from './load-campaigns';
import { publishAudiences } from '../audiences/publish-audiences';

/** Peak RSS per stage: a 100 ms sampler that keeps the largest RSS seen since the last take(). */
function rssSampler(): { take(): number; stop(): void } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  t.unref();
  return {
    take() {
      const p = Math.max(peak, process.memoryUsage.rss());
      peak = process.memoryUsage.rss();
      return p;
    },
    stop: () => clearInterval(t),
  };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

export interface NightlyOptions {
  dataDir: string;
  asOf: string;
  /** Concurrent chunk jobs in this process, one worker thread each; 0 = only external `paydecide worker`s. @defaultValue 2 */
  workers?: number;
  /** Retrain the baseline model even if one is current. */
  train?: boolean;
  /** Rebuild the payment features from 90 days of payments even where yesterday's state could be moved on. */
  full?: boolean;
  /** Build and publish tonight's audiences after the flip. @defaultValue true */
  audiences?: boolean;
  logger: Logger;
  onProgress?(p: { stage: string; done: number; total: number; users: number }): void;
}

export interface StageTiming {
  name: string;
  wall_s: number;
  /**
   * CPU-seconds of this process in the stage. Chunk stages run in overlapping worker threads,
   * so the build's measured CPU is shared among them in proportion to their wall time.
   */
  cpu_s: number;
  /** Largest resident set of the process seen during the stage (sampled every 100 ms). */
  peak_rss_bytes: number;
  redis_bytes?: number;
  store_bytes?: number;
  store_write_requests?: number;
  store_read_requests?: number;
}
export interface NightlyResult {
  version: string;
  previousLive: string | null;
  resumed: boolean;
  modelVersion: string;
  users: number;
  expectedUsers: number;
  chunks: number;
  bytes: number;
  redisBytes: number;
  checks: FinalizeResult['checks'];
  stages: StageTiming[];
  /** Chunks moved on from the previous night's payment state, and chunks rebuilt in full (with why). */
  featureModes: FinalizeResult['featureModes'];
  total_s: number;
  cpu_s: number;
  retired: string[];
  /** Tonight's audiences (null when not asked for). */
  audiences: { store: string; run: string; published: number; rows: number; rows_sent: number; skipped: number; bytes: number } | null;
}

const RUN_TTL_S = 7 * 86400;

function runKey(prefix: string, dataDir: string, asOf: string, modelVersion: string): string {
  const id = createHash('sha256').update(`${path.resolve(dataDir)}\n${asOf}\n${modelVersion}`).digest('hex').slice(0, 16);
  return `${prefix}:run:${id}`;
}

export function checkDate(world: WorldManifest, asOf: string, dataDir: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`))) {
    throw new PaydecideError(ErrorCodes.BAD_FLAG, `--date ${asOf}: expected YYYY-MM-DD`, { exitCode: 2 });
  }
  if (asOf > world.date || asOf <= world.start_date) {
    throw new PaydecideError(ErrorCodes.UNKNOWN_DATE, `--date ${asOf}: ${dataDir} holds data for ${world.start_date} .. ${world.date} (as-of dates after ${world.start_date} up to ${world.date})`, { exitCode: 2 });
  }
}

async function countExpectedUsers(cfg: Config, files: string[], asOf: string): Promise<number> {
  const d = await openDuckDB({ threads: cfg.duckdbThreads, memory: cfg.duckdbMemory });
  try {
    const r = await d.conn.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${sqlStringList(files)}) WHERE signup_date < $as_of::DATE`, { as_of: asOf });
    return Number(r.getRows()[0][0]);
  } catch (e) {
    throw asInputError(e);
  } finally {
    closeDuckDB(d);
  }
}

async function readWorldCampaigns(cfg: Config, dataDir: string, world: WorldManifest) {
  const d = await openDuckDB({ threads: 1, memory: cfg.duckdbMemory });
  try {
    return await loadCampaigns(d.instance, worldFiles(dataDir, world, 'campaigns'));
  } finally {
    closeDuckDB(d);
  }
}

async function ensureModel(cfg: Config, o: NightlyOptions): Promise<{ manifest: ModelManifest; trained: boolean }> {
  if (!o.train) {
    try {
      const m = await loadCurrent(cfg.modelsDir);
      const sameFeatures = m.manifest.feature_set_hash === FEATURE_SET_HASH && m.manifest.features.join(',') === FEATURE_NAMES.join(',');
      if (sameFeatures && m.manifest.kind === 'gbdt-uplift') return { manifest: m.manifest, trained: false };
      o.logger.warn({ model: m.manifest.version, kind: m.manifest.kind }, sameFeatures ? 'current model is the placeholder baseline; training the uplift models' : 'current model was trained on another feature list; retraining');
    } catch (e) {
      if (!(e instanceof PaydecideError && e.code === ErrorCodes.NO_MODEL)) throw e;
      o.logger.info({ modelsDir: cfg.modelsDir }, 'no current model; training the uplift models');
    }
  }
  const r = await trainAndPromote(cfg, { dataDir: o.dataDir, asOf: o.asOf, logger: o.logger });
  // A refused candidate leaves the live model current: tonight scores with that one.
  const manifest = r.promoted ? r.manifest : (await loadCurrent(cfg.modelsDir)).manifest;
  return { manifest, trained: true };
}

/**
 * Trains and promotes the online adjuster when none is current or the current one was trained
 * over another uplift model than tonight's. Only the online service uses the adjuster, so a
 * failure here is logged and the night goes on (the service serves the precomputed scores).
 * Returns whether training was attempted.
 */
async function ensureAdjuster(cfg: Config, o: NightlyOptions, uplift: ModelManifest): Promise<boolean> {
  if (uplift.kind !== 'gbdt-uplift') return false;
  try {
    const current = await loadCurrentAdjuster(cfg.modelsDir).catch((e: unknown) => {
      o.logger.warn({ err: errorMessage(e) }, 'current adjuster unusable; training one');
      return null;
    });
    if (current?.manifest.base_model_version === uplift.version) return false;
    const r = await trainAndPromoteAdjuster(cfg, { dataDir: o.dataDir, asOf: o.asOf, logger: o.logger });
    o.logger.info({ adjuster: r.manifest.version, base_model: uplift.version, promoted: r.promoted, reasons: r.reasons }, 'online adjuster trained');
  } catch (e) {
    o.logger.warn({ err: errorMessage(e), base_model: uplift.version }, 'online adjuster not trained; the night goes on without it');
  }
  return true;
}

export async function runNightly(cfg: Config, o: NightlyOptions): Promise<NightlyResult> {
  const log = o.logger;
  const tStart = performance.now();
  const cpuStart = process.cpuUsage();
  const stages: StageTiming[] = [];
  const rss = rssSampler();
  const stage = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const c = process.cpuUsage();
    rss.take();
    try {
      return await f();
    } finally {
      stages.push({ name, wall_s: (performance.now() - t) / 1000, cpu_s: cpuSeconds(c), peak_rss_bytes: rss.take() });
    }
  };

  const dataDir = path.resolve(o.dataDir);
  const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-nightly' });
  const store = new ScoreStore(redis, cfg.prefix);
  const connection = bullConnection(cfg.redisUrl, (e) => log.debug({ err: e.message }, 'bullmq redis error'));
  // QueueEvents block on their own connection; BullMQ does not close connections it was given
  const eventsConn = bullConnection(cfg.redisUrl);
  const chunkEventsConn = bullConnection(cfg.redisUrl);
  const prefix = bullPrefix(cfg.prefix);
  let runtime: Awaited<ReturnType<typeof startWorkers>> | undefined;
  let events: QueueEvents | undefined;
  let chunkEvents: QueueEvents | undefined;
  let version: string | undefined;
  let rk: string | undefined;
  let committed = false;
  try {
    const { world, manifest, trained, expectedUsers } = await stage('prepare', async () => {
      if (!fs.existsSync(dataDir)) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `--data ${o.dataDir}: no such directory`, { exitCode: 2 });
      const world = readWorldManifest(dataDir);
      checkDate(world, o.asOf, o.dataDir);
      const { manifest, trained } = await ensureModel(cfg, o);
      const expectedUsers = await countExpectedUsers(cfg, worldFiles(dataDir, world, 'users'), o.asOf);
      return { world, manifest, trained, expectedUsers };
    });
    if (trained) stages.push({ ...stages.pop()!, name: 'train' });
    if (!(await stage('train-adjuster', () => ensureAdjuster(cfg, o, manifest)))) stages.pop();

    const slots = slotCount(world.users, world.buckets, cfg.usersPerSlot);
    rk = runKey(cfg.prefix, dataDir, o.asOf, manifest.version);
    const prior = await redis.hgetall(rk);
    let resumed = false;
    if (prior.status === 'running' && prior.version && (await store.versionMeta(prior.version))?.status === 'building') {
      version = prior.version;
      resumed = true;
      log.info({ version }, 'resuming an unfinished run');
    } else {
      version = `${o.asOf.replaceAll('-', '')}-${Date.now().toString(36)}`;
    }
    await store.beginVersion(version, { users: world.users, slots, buckets: world.buckets, modelVersion: manifest.version, asOf: o.asOf, modelTag: modelTagOf(manifest.version) });
    // The online service re-runs the policy at payment time over the campaigns this version was
    // scored with: it reads them from the version's metadata when it sees the version go live.
    await store.setVersionMeta(version, { campaigns: JSON.stringify(await readWorldCampaigns(cfg, dataDir, world)) });
    await redis.multi().hset(rk, { status: 'running', version, data: dataDir, as_of: o.asOf, model: manifest.version, started_at: new Date().toISOString() }).expire(rk, RUN_TTL_S).exec();

    const chunkSize = cfg.chunkBuckets;
    const nChunks = Math.ceil(world.buckets / chunkSize);
    const finalizeQueue = new Queue(FINALIZE_QUEUE, { connection, prefix });
    let parent = await Job.fromId(finalizeQueue, finalizeJobId(version));
    if (parent && (await parent.getState()) === 'failed') {
      await parent.remove({ removeChildren: true });
      parent = undefined;
    }
    if (!parent) {
      const flow = new FlowProducer({ connection, prefix });
      const children = Array.from({ length: nChunks }, (_, i) => {
        const data: ChunkPayload = {
          version: version!,
          chunkIndex: i,
          asOf: o.asOf,
          dataDir,
          snapshotDir: snapshotDirFor(dataDir, o.asOf),
          buckets: world.buckets,
          bucketLo: i * chunkSize,
          bucketHi: Math.min(world.buckets, (i + 1) * chunkSize),
          slots,
          modelVersion: manifest.version,
          incremental: !o.full,
        };
        return {
          name: CHUNK_JOB,
          queueName: CHUNK_QUEUE,
          data,
          opts: {
            jobId: chunkJobId(version!, i),
            attempts: cfg.chunkAttempts,
            backoff: { type: 'exponential', delay: 1000 },
            failParentOnFailure: true,
            removeOnComplete: true,
            // Kept until the run cleans up, so the coordinator can report the child's reason.
            removeOnFail: false,
          },
        };
      });
      const data: FinalizePayload = { version, asOf: o.asOf, modelVersion: manifest.version, expectedUsers, chunks: nChunks };
      const node = await flow.add({ name: FINALIZE_JOB, queueName: FINALIZE_QUEUE, data, opts: { jobId: finalizeJobId(version), attempts: 1 }, children });
      parent = node.job;
      await flow.close();
    }
    await finalizeQueue.close();

    events = new QueueEvents(FINALIZE_QUEUE, { connection: eventsConn, prefix });
    chunkEvents = new QueueEvents(CHUNK_QUEUE, { connection: chunkEventsConn, prefix });
    await Promise.all([events.waitUntilReady(), chunkEvents.waitUntilReady()]);
    let done = nChunks - ((await parent.getDependenciesCount({ unprocessed: true })).unprocessed ?? nChunks);
    let users = 0;
    const myVersion = version;
    chunkEvents.on('completed', ({ jobId, returnvalue }) => {
      if (!jobId.startsWith(`${myVersion}.`)) return;
      done++;
      const rv = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChunkResult;
      users += rv?.users ?? 0;
      o.onProgress?.({ stage: 'score', done, total: nChunks, users });
    });
    o.onProgress?.({ stage: 'score', done, total: nChunks, users });

    const tBuild = performance.now();
    const cpuBuild = process.cpuUsage();
    rss.take();
    if ((o.workers ?? 2) > 0) runtime = await startWorkers(cfg, redis, log, { concurrency: o.workers ?? 2 });
    let result: FinalizeResult;
    try {
      result = (await parent.waitUntilFinished(events)) as FinalizeResult;
    } catch (e) {
      // The parent's own reason only says a child failed; the child's reason names the file.
      const reason = (await childFailure(errorMessage(e), connection, prefix)).replace(/^Error: /, '');
      throw new PaydecideError(codeOf(reason), `nightly ${version} failed, nothing published: ${reason.replace(/^PD_ERR_[A-Z_]+: /, '')}`, { cause: e });
    }
    const buildS = (performance.now() - tBuild) / 1000;
    const buildCpu = cpuSeconds(cpuBuild);
    const buildRss = rss.take();
    const ss = result.stageSeconds;
    const chunkSum = Object.values(ss).reduce((a, b) => a + b, 0) || 1;
    // Chunk stages may overlap across workers: share the build's wall time and CPU in proportion.
    // (With --workers 0 the chunks ran in other processes: their CPU is not measured here.)
    for (const k of ['verify_s', 'features_s', 'scoring_s', 'policy_s', 'publish_s']) {
      const share = (ss[k] ?? 0) / chunkSum;
      stages.push({ name: k.replace('_s', ''), wall_s: buildS * share, cpu_s: buildCpu * share, peak_rss_bytes: buildRss });
    }
    if (!result.ok) {
      const failed = result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ');
      throw new PaydecideError(ErrorCodes.VALIDATION_FAILED, `validation of ${version} failed, live version unchanged: ${failed}`, { details: { checks: result.checks } });
    }
    committed = true;
    await parent.remove().catch(() => {});
    const redisBytes = await store.versionBytes(version);
    const pub = stages.find((x) => x.name === 'publish');
    if (pub) pub.redis_bytes = redisBytes;
    let audiences: NightlyResult['audiences'] = null;
    if (o.audiences !== false) {
      const v = version;
      try {
        const a = await stage('audiences', () => publishAudiences(cfg, { dataDir, asOf: o.asOf, scoresVersion: v, modelVersion: manifest.version, logger: log }));
        Object.assign(stages[stages.length - 1], { store_bytes: a.storeStats.bytesWritten, store_write_requests: a.storeStats.writeRequests, store_read_requests: a.storeStats.readRequests });
        audiences = {
          store: a.store,
          run: a.run,
          published: a.audiences.length,
          rows: a.audiences.reduce((x, y) => x + y.rows, 0),
          rows_sent: a.audiences.reduce((x, y) => x + y.rows_sent, 0),
          skipped: a.skipped.length,
          bytes: a.bytes,
        };
      } catch (e) {
        // The scores are live already; the audiences of this date are not, and the previous
        // date's stay readable. The run record says so.
        await redis.hset(rk, { status: 'audiences_failed', error: errorMessage(e).slice(0, 500) }).catch(() => {});
        const err = e instanceof PaydecideError ? e : undefined;
        throw new PaydecideError(err?.code ?? ErrorCodes.RUN_FAILED, `scores ${version} are live, but the audiences of ${o.asOf} were not published (the previous date's stay readable; rerun them with \`paydecide audiences build --data ${o.dataDir} --date ${o.asOf}\`): ${err ? err.message : errorMessage(e)}`, { cause: e, exitCode: err?.exitCode });
      }
    }
    const total_s = (performance.now() - tStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const out: NightlyResult = {
      version,
      previousLive: result.previousLive,
      resumed,
      modelVersion: manifest.version,
      users: result.users,
      expectedUsers,
      chunks: nChunks,
      bytes: result.bytes,
      redisBytes,
      checks: result.checks,
      stages,
      featureModes: result.featureModes,
      total_s,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      retired: result.retired,
      audiences,
    };
    await redis
      .multi()
      .hset(rk, { status: 'done', finished_at: new Date().toISOString() })
      .set(`${cfg.prefix}:lastrun`, JSON.stringify({ ...out, data: dataDir, as_of: o.asOf, finished_at: new Date().toISOString() }))
      .exec();
    return out;
  } catch (e) {
    if (version && !committed) {
      // Never half-publish: drop whatever the run wrote, unless it is (already) live.
      const live = await store.liveVersion().catch(() => null);
      if (live !== version) {
        await store.deleteVersion(version).catch((err) => log.error({ err: errorMessage(err), version }, 'could not delete the failed version'));
      }
      if (rk) await redis.hset(rk, { status: 'failed', error: errorMessage(e).slice(0, 500) }).catch(() => {});
      const q = new Queue(FINALIZE_QUEUE, { connection, prefix });
      const j = await Job.fromId(q, finalizeJobId(version)).catch(() => undefined);
      await j?.remove({ removeChildren: true }).catch(() => {});
      await q.close().catch(() => {});
    }
    throw e;
  } finally {
    rss.stop();
    await runtime?.close();
    await events?.close().catch(() => {});
    await chunkEvents?.close().catch(() => {});
    await Promise.all([closeRedis(connection), closeRedis(eventsConn), closeRedis(chunkEventsConn), closeRedis(redis)]);
  }
}

/** The failed child's own reason, when the parent's reason is "child <key> failed". */
async function childFailure(parentReason: string, connection: ReturnType<typeof bullConnection>, prefix: string): Promise<string> {
  const m = new RegExp(`${CHUNK_QUEUE}:(\\S+) failed`).exec(parentReason);
  if (!m) return parentReason;
  const q = new Queue(CHUNK_QUEUE, { connection, prefix });
  try {
    const child = await Job.fromId(q, m[1]);
    return child?.failedReason || parentReason;
  } catch {
    return parentReason;
  } finally {
    await q.close().catch(() => {});
  }
}

function codeOf(reason: string): string {
  const m = /PD_ERR_[A-Z_]+/.exec(reason);
  return m ? m[0] : ErrorCodes.RUN_FAILED;
}
