/**
 * The resources chunk jobs share within one thread: one DuckDB instance, cached ONNX scorers,
 * world manifests and campaigns. Kept apart from worker-runtime.ts so that a chunk thread does
 * not load BullMQ (~0.35 s of module loading per thread at start).
 */
import path from 'node:path';
import type { Config } from '../../core/config';
import type { ScoreStore } from '../../core/score-store';
import { loadModel } from '../../models/registry';
import { OnnxScorer } from '../../models/onnx-scorer';
import { campaignsByAction } from '../../policy/best-campaign';
import { openDuckDB } from '../duckdb';
import { readWorldManifest, worldFiles } from '../world';
import { loadCampaigns } from './load-campaigns';
import type { ChunkDeps } from './chunk-job';

/** Per-process resources of chunk jobs: one DuckDB instance, cached scorers and world manifests. */
export interface ChunkContext {
  deps(progress?: ChunkDeps['progress']): ChunkDeps;
  close(): Promise<void>;
}

export async function createChunkContext(cfg: Config, store: ScoreStore): Promise<ChunkContext> {
  const duck = await openDuckDB({ threads: cfg.duckdbThreads, memory: cfg.duckdbMemory });
  const scorers = new Map<string, Promise<OnnxScorer>>();
  const worlds = new Map<string, ReturnType<ChunkDeps['world']>>();
  const scorer = (version: string) => {
    let s = scorers.get(version);
    if (!s) {
      // One ORT thread per chunk, whatever PAYDECIDE_ORT_THREADS says: ONNX Runtime's tree
      // ensemble splits the trees across its threads, and the partial sums' order changes the
      // last bit of a score with the thread count, which now and then flips a quantised score —
      // a rerun chunk must write the same bytes. The nightly's parallelism is its chunk threads.
      s = loadModel(cfg.modelsDir, version).then((m) => OnnxScorer.load(m.onnxBytes, { threads: 1 }));
      s.catch(() => scorers.delete(version));
      scorers.set(version, s);
    }
    return s;
  };
  const world = (dataDir: string) => {
    let w = worlds.get(dataDir);
    if (!w) {
      w = (async () => {
        const manifest = readWorldManifest(dataDir);
        const campaigns = await loadCampaigns(duck.instance, worldFiles(dataDir, manifest, 'campaigns'));
        const sums = new Map<string, string>();
        for (const [rel, sum] of Object.entries(manifest.sha256)) sums.set(path.resolve(dataDir, rel), sum as string);
        const first = (t: 'payments' | 'decision_log' | 'outcomes') => worldFiles(dataDir, manifest, t).slice(0, 1);
        return {
          slice: (buckets: number[]) => ({
            users: worldFiles(dataDir, manifest, 'users', buckets),
            payments: worldFiles(dataDir, manifest, 'payments', buckets),
            decisions: worldFiles(dataDir, manifest, 'decision_log', buckets),
            outcomes: worldFiles(dataDir, manifest, 'outcomes', buckets),
          }),
          emptyFallback: { payments: first('payments'), decisions: first('decision_log'), outcomes: first('outcomes') },
          sha256: (f: string) => sums.get(path.resolve(f)),
          campaigns: campaignsByAction(campaigns),
        };
      })();
      w.catch(() => worlds.delete(dataDir));
      worlds.set(dataDir, w);
    }
    return w;
  };
  return {
    deps: (progress) => ({ duck: duck.instance, store, scorer, world, progress, verifyInputs: cfg.verifyInputs }),
    async close() {
      for (const s of scorers.values()) await s.then((x) => x.close()).catch(() => {});
      duck.conn.closeSync();
      duck.instance.closeSync();
    },
  };
}
