/**
 * The process side of the nightly: BullMQ workers for chunk and finalize jobs, running chunks in
 * worker threads (chunk-thread-pool.ts) or in this thread (chunk-context.ts).
 * Used by `paydecide nightly` (a local worker) and `paydecide worker` (joins from anywhere).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Config } from '../../core/config';
import { PaydecideError, errorMessage } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { bullConnection, closeRedis, type Redis } from '../../core/redis';
import { ScoreStore } from '../../core/score-store';
import { chunkPayloadSchema, processChunk, type ChunkPayload, type ChunkResult } from './chunk-job';
import { createChunkContext } from './chunk-context';
import { ChunkThreadPool } from './chunk-thread-pool';
import { finalizePayloadSchema, processFinalize, type FinalizeResult } from './finalize-job';
import { bullPrefix, CHUNK_QUEUE, FINALIZE_QUEUE } from './queues';

export interface WorkerRuntime {
  chunkWorker: Worker;
  finalizeWorker: Worker;
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Chunk jobs at once. @defaultValue 1 */
  concurrency?: number;
  /**
   * Run each chunk job in its own worker thread (own DuckDB, Redis connection and ONNX
   * sessions), so that several chunks' JavaScript runs on several cores; otherwise they share
   * this thread's event loop. @defaultValue true
   */
  threads?: boolean;
}

export async function startWorkers(cfg: Config, redis: Redis, log: Logger, opts: WorkerOptions = {}): Promise<WorkerRuntime> {
  const store = new ScoreStore(redis, cfg.prefix);
  const concurrency = opts.concurrency ?? 1;
  const pool = opts.threads !== false ? new ChunkThreadPool(cfg, concurrency) : undefined;
  const ctx = pool ? undefined : await createChunkContext(cfg, store);
  const run = (job: Job, payload: ChunkPayload): Promise<ChunkResult> =>
    pool ? pool.run(payload, (p) => void job.updateProgress(p)) : processChunk(payload, ctx!.deps((p) => job.updateProgress(p)));

  /** Bad input can never succeed on retry: fail the job (and so the run) at once. */
  const unrecoverable = (e: unknown): never => {
    if (e instanceof PaydecideError && !e.retryable) throw new UnrecoverableError(errorMessage(e));
    throw e;
  };

  // BullMQ does not close connections it was given: these are ours to quit in close().
  const chunkConn = bullConnection(cfg.redisUrl, (e) => log.warn({ err: e.message }, 'bullmq redis error'));
  const finalizeConn = bullConnection(cfg.redisUrl, () => {});
  const common = {
    connection: chunkConn,
    prefix: bullPrefix(cfg.prefix),
    lockDuration: cfg.lockMs,
    stalledInterval: cfg.stalledMs,
    maxStalledCount: 2,
  };
  const chunkWorker = new Worker<unknown, ChunkResult>(
    CHUNK_QUEUE,
    async (job) => {
      const parsed = chunkPayloadSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`bad chunk payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      log.debug({ job: job.id, attempt: job.attemptsMade + 1 }, 'chunk start');
      try {
        const r = await run(job, parsed.data);
        log.info({ job: job.id, users: r.users, ...r.timings }, 'chunk done');
        return r;
      } catch (e) {
        log.warn({ job: job.id, err: errorMessage(e) }, 'chunk failed');
        return unrecoverable(e);
      }
    },
    { ...common, concurrency },
  );
  const finalizeWorker = new Worker<unknown, FinalizeResult>(
    FINALIZE_QUEUE,
    async (job) => {
      const parsed = finalizePayloadSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`bad finalize payload: ${parsed.error.message}`);
      const values = Object.values(await job.getChildrenValues<ChunkResult>());
      try {
        return await processFinalize(parsed.data, values, store, cfg);
      } catch (e) {
        return unrecoverable(e);
      }
    },
    { ...common, connection: finalizeConn, concurrency: 1 },
  );
  for (const w of [chunkWorker, finalizeWorker]) w.on('error', (e) => log.warn({ err: e.message }, 'worker error'));

  return {
    chunkWorker,
    finalizeWorker,
    async close() {
      await Promise.allSettled([chunkWorker.close(), finalizeWorker.close()]);
      await Promise.all([closeRedis(chunkConn), closeRedis(finalizeConn)]);
      await pool?.close();
      await ctx?.close();
    },
  };
}
