/**
 * A fixed pool of chunk threads (chunk-thread.ts) behind the BullMQ chunk worker: each job goes
 * to an idle thread. The pool size equals the worker's concurrency, so a thread is always free
 * when BullMQ hands over a job. A thread that dies fails its job (retryably: another attempt may
 * run elsewhere) and is replaced. PAYDECIDE_DUCKDB_THREADS and PAYDECIDE_ORT_THREADS are the
 * process's budget: each thread gets its share (at least one), so two chunk threads on two cores
 * run one DuckDB and one ONNX thread each instead of four of each fighting for the cores.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import type { ChunkPayload, ChunkResult } from './chunk-job';
import type { ThreadReply, ThreadRequest } from './chunk-thread';

interface Pending {
  resolve(r: ChunkResult): void;
  reject(e: unknown): void;
  progress?(p: { stage: string; users: number }): void;
}

export class ChunkThreadPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly cfg: Config,
    readonly size: number,
  ) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  run(payload: ChunkPayload, progress?: Pending['progress']): Promise<ChunkResult> {
    const w = this.idle.pop();
    if (!w) return Promise.reject(new Error('no idle chunk thread (more jobs than the pool size)'));
    const id = this.nextId++;
    this.busy.set(w, id);
    return new Promise<ChunkResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      w.postMessage({ id, payload } satisfies ThreadRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy.keys()];
    await Promise.all(
      all.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.postMessage({ close: true } satisfies ThreadRequest);
            // a thread stuck in native code must not hold the process
            setTimeout(() => void w.terminate(), 10_000).unref();
          }),
      ),
    );
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./chunk-thread.mjs', import.meta.url), { workerData: { cfg: threadConfig(this.cfg, this.size) } });
    w.on('message', (m: ThreadReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) return void p.progress?.(m.progress);
      this.pending.delete(m.id);
      this.busy.delete(w);
      this.idle.push(w);
      if ('result' in m) p.resolve(m.result as ChunkResult);
      else if (m.error.code) p.reject(new PaydecideError(m.error.code, m.error.message, { retryable: m.error.retryable, details: m.error.details }));
      else p.reject(new Error(m.error.message));
    });
    const died = (why: string) => {
      const id = this.busy.get(w);
      this.busy.delete(w);
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      if (id !== undefined) {
        this.pending.get(id)?.reject(new PaydecideError(ErrorCodes.WORKER_DIED, `chunk thread died: ${why}`, { retryable: true }));
        this.pending.delete(id);
      }
      if (!this.closed) this.idle.push(this.spawn());
    };
    w.on('error', (e) => died(e.message));
    w.on('exit', (code) => {
      if (this.busy.has(w) || this.idle.includes(w)) died(`exit code ${code}`);
    });
    return w;
  }
}

/** The configuration of one of `size` chunk threads: its share of the DuckDB and ONNX threads. */
export function threadConfig(cfg: Config, size: number): Config {
  const share = (n: number) => Math.max(1, Math.floor(n / size));
  return { ...cfg, duckdbThreads: share(cfg.duckdbThreads), ortThreads: share(cfg.ortThreads) };
}
