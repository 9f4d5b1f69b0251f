/**
 * A chunk thread: runs `processChunk` with its own DuckDB instance, Redis connection and ONNX
 * sessions, so that the JavaScript of two chunks (vector reads, feature assembly, Parquet
 * encoding, state files) runs on two cores instead of taking turns on one event loop. Messages:
 * in `{ id, payload }` or `{ close: true }`; out `{ id, progress }`, `{ id, result }` or
 * `{ id, error }` (a PaydecideError's code, message and retryability survive the trip).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../../core/config';
import { PaydecideError } from '../../core/errors';
import { connectRedis, type Redis } from '../../core/redis';
import { ScoreStore } from '../../core/score-store';
import { processChunk, type ChunkPayload } from './chunk-job';
import { createChunkContext, type ChunkContext } from './chunk-context';

export type ThreadRequest = { id: number; payload: ChunkPayload } | { close: true };
export type ThreadReply =
  | { id: number; progress: { stage: string; users: number } }
  | { id: number; result: unknown }
  | { id: number; error: { message: string; code?: string; retryable?: boolean; details?: Record<string, unknown> } };

const cfg = workerData.cfg as Config;
const port = parentPort!;
async function init(): Promise<{ ctx: ChunkContext; redis: Redis }> {
  const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-chunk-thread' });
  return { ctx: await createChunkContext(cfg, new ScoreStore(redis, cfg.prefix)), redis };
}
// Started at once (while the pool waits for jobs), not on the first job; a failure is retried then.
let ready: Promise<{ ctx: ChunkContext; redis: Redis }> | undefined = init();
ready.catch(() => (ready = undefined));

port.on('message', async (msg: ThreadRequest) => {
  if ('close' in msg) {
    if (ready) {
      const { ctx, redis } = await ready.catch(() => ({ ctx: undefined, redis: undefined }));
      await ctx?.close();
      redis?.disconnect();
    }
    port.close();
    return;
  }
  const reply = (r: ThreadReply) => port.postMessage(r);
  try {
    ready ??= init();
    const { ctx } = await ready;
    const result = await processChunk(msg.payload, ctx.deps((p) => reply({ id: msg.id, progress: p })));
    reply({ id: msg.id, result });
  } catch (e) {
    if (e instanceof PaydecideError) reply({ id: msg.id, error: { message: e.message, code: e.code, retryable: e.retryable, details: e.details } });
    else reply({ id: msg.id, error: { message: e instanceof Error ? e.message : String(e), retryable: true } });
  }
});
