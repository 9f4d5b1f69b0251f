/**
 * Job `validate-and-flip`: the parent of a nightly flow. BullMQ starts it only when every chunk
 * has completed. It checks the built version (validate-version.ts) and only then flips the live
 * pointer atomically and retires old versions; a failed check deletes the new version's keys and
 * leaves the live version untouched.
 */
import { z } from 'zod';
import type { ScoreStore } from '../../core/score-store';
import type { ChunkResult } from './chunk-job';
import { mergeStats, type ScoreStats } from './chunk-stats';
import { validateVersion, type Check } from './validate-version';

export const finalizePayloadSchema = z.object({
  version: z.string().min(1),
  asOf: z.string(),
  modelVersion: z.string().min(1),
  expectedUsers: z.number().int().min(0),
  chunks: z.number().int().min(1),
});
export type FinalizePayload = z.infer<typeof finalizePayloadSchema>;

export interface FinalizeResult {
  ok: boolean;
  version: string;
  previousLive: string | null;
  users: number;
  bytes: number;
  checks: Check[];
  stats: ScoreStats;
  /** Sum over chunks of each stage's wall seconds (chunks may run in parallel on many workers). */
  stageSeconds: Record<string, number>;
  /** Chunks whose payment features were moved on from the previous night, and those rebuilt (with why). */
  featureModes: { incremental: number; full: number; fullReasons: string[] };
  retired: string[];
}

export async function processFinalize(
  p: FinalizePayload,
  childValues: ChunkResult[],
  store: ScoreStore,
  limits: { minCoverage: number; maxMeanShift: number; keepVersions: number },
): Promise<FinalizeResult> {
  const stats = mergeStats(childValues.map((c) => c.stats));
  const stageSeconds: Record<string, number> = {};
  for (const c of childValues) for (const [k, v] of Object.entries(c.timings)) stageSeconds[k] = (stageSeconds[k] ?? 0) + v;
  const published = await store.countUsers(p.version);
  const live = await store.liveVersion();
  let previous: ScoreStats | undefined;
  if (live) {
    const meta = await store.versionMeta(live);
    previous = meta?.stats.scoreStats as ScoreStats | undefined;
  }
  const missingChunks = p.chunks - childValues.length;
  const result = validateVersion({
    expectedUsers: p.expectedUsers,
    publishedUsers: published,
    stats,
    previous,
    modelVersion: p.modelVersion,
    chunkModelVersions: childValues.map((c) => c.modelVersion),
    minCoverage: limits.minCoverage,
    maxMeanShift: limits.maxMeanShift,
  });
  if (missingChunks !== 0) result.checks.unshift({ name: 'chunks', ok: false, detail: `${childValues.length} of ${p.chunks} chunks reported` }), (result.ok = false);
  const bytes = childValues.reduce((a, c) => a + c.bytes, 0);
  let retired: string[] = [];
  if (result.ok) {
    await store.setVersionStatus(p.version, 'validated', { scoreStats: stats, checks: result.checks, publishedUsers: published, bytes, stageSeconds });
    await store.flip(p.version);
    retired = await store.retireOld(limits.keepVersions);
  } else {
    // Nothing of a rejected version stays behind; the run record keeps the checks.
    await store.deleteVersion(p.version);
  }
  const featureModes = {
    incremental: childValues.filter((c) => c.featureMode === 'incremental').length,
    full: childValues.filter((c) => c.featureMode !== 'incremental').length,
    fullReasons: [...new Set(childValues.flatMap((c) => (c.fullReason ? [c.fullReason] : [])))].slice(0, 5),
  };
  return { ok: result.ok, version: p.version, previousLive: live, users: published, bytes, checks: result.checks, stats, stageSeconds, featureModes, retired };
}
