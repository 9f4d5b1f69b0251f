/**
 * Job `score-chunk`: one child of the nightly flow per range of data buckets. It reads its slice
 * of the world with DuckDB, computes the feature snapshot, scores it with ONNX Runtime, picks
 * the best open campaign per action, encodes one 24-byte record per user and writes them into
 * the version's Redis hash buckets. Idempotent: a rerun (retry, stalled takeover) writes the same
 * bytes to the same keys and overwrites its own snapshot files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ACTIONS } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { FEATURE_COUNT, featureIndex } from '../../core/feature-registry';
import { encodeRecords, modelTagOf, profileFlags, RECORD_FLAGS } from '../../core/score-record-codec';
import type { ScoreStore } from '../../core/score-store';
import { CampaignPlanner, type campaignsByAction } from '../../policy/best-campaign';
import type { OnnxScorer } from '../../models/onnx-scorer';
import { splitModelOutputs } from '../../models/model-outputs';
import { computeSnapshot, type SliceFiles } from '../features/feature-snapshot';
import { writeSnapshotParquet } from '../features/snapshot-parquet';
import type { DuckDBInstance } from '@duckdb/node-api';
import { addScores, emptyStats, type ScoreStats } from './chunk-stats';
import { verifiedRecordFile, verifySliceFiles, type VerifyMode } from '../world/verified-inputs';
import { addDays } from '../../core/dates';
import { pruneStateFiles, readStateFile, stateFile, writeStateFile, type StoredState } from '../features/payment-state-file';

export const chunkPayloadSchema = z.object({
  version: z.string().min(1),
  chunkIndex: z.number().int().min(0),
  asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  dataDir: z.string().min(1),
  snapshotDir: z.string().min(1),
  buckets: z.number().int().min(1),
  bucketLo: z.number().int().min(0),
  bucketHi: z.number().int().min(1),
  slots: z.number().int().min(1),
  modelVersion: z.string().min(1),
  /** Move the previous night's payment state forward when there is one (else rebuild from 90 days). @defaultValue true */
  incremental: z.boolean().optional(),
});
export type ChunkPayload = z.infer<typeof chunkPayloadSchema>;

export interface ChunkResult {
  chunkIndex: number;
  users: number;
  bytes: number;
  modelVersion: string;
  stats: ScoreStats;
  /** How the payment features were made: moved on from the previous night's state, or rebuilt. */
  featureMode: 'full' | 'incremental';
  /** Why a full rebuild, when incremental was asked for. */
  fullReason?: string;
  timings: { verify_s: number; features_s: number; scoring_s: number; policy_s: number; publish_s: number };
}

/** What a chunk needs from its process: shared DuckDB instance, Redis store, models, campaigns. */
export interface ChunkDeps {
  duck: DuckDBInstance;
  store: ScoreStore;
  /** Loads (and caches) the scorer of a model version. */
  scorer(modelVersion: string): Promise<OnnxScorer>;
  /** Loads (and caches) the slice files, the sha256 each must have, and the world's campaigns. */
  world(dataDir: string): Promise<{
    slice(buckets: number[]): SliceFiles;
    emptyFallback: Partial<SliceFiles>;
    sha256(file: string): string | undefined;
    campaigns: ReturnType<typeof campaignsByAction>;
  }>;
  progress?(p: { stage: string; users: number }): Promise<void> | void;
  /** Hash every input file, or only those changed since they were last hashed. @defaultValue 'changed' */
  verifyInputs?: VerifyMode;
}

const SCORE_BATCH = 65_536;
const INACTIVE_FEATURE = featureIndex('pay_cnt_90d');

export async function processChunk(p: ChunkPayload, deps: ChunkDeps): Promise<ChunkResult> {
  if (p.bucketHi <= p.bucketLo || p.bucketHi > p.buckets) {
    throw new PaydecideError(ErrorCodes.BAD_FLAG, `chunk ${p.chunkIndex}: bucket range [${p.bucketLo}, ${p.bucketHi}) outside 0..${p.buckets}`);
  }
  const t0 = performance.now();
  const world = await deps.world(p.dataDir);
  const buckets = Array.from({ length: p.bucketHi - p.bucketLo }, (_, i) => p.bucketLo + i);
  const files = world.slice(buckets);

  // Input integrity: every file of the slice must match the checksum the generator recorded
  // (files unchanged since this chunk last hashed them are not hashed again: verified-inputs.ts).
  await verifySliceFiles([...files.users, ...files.payments, ...files.decisions, ...files.outcomes], world.sha256, {
    recordFile: verifiedRecordFile(p.dataDir, p.bucketLo, p.bucketHi),
    mode: deps.verifyInputs ?? 'changed',
  });
  const t1 = performance.now();

  const conn = await deps.duck.connect();
  const stFile = stateFile(p.dataDir, p.bucketLo, p.bucketHi, p.asOf);
  const prevFile = stateFile(p.dataDir, p.bucketLo, p.bucketHi, addDays(p.asOf, -1));
  let prev: StoredState | undefined;
  const incremental = p.incremental !== false;
  let fullReason: string | undefined = incremental ? undefined : 'a full rebuild was asked for';
  if (incremental && fs.existsSync(prevFile)) {
    try {
      prev = readStateFile(prevFile);
    } catch (e) {
      fullReason = `previous payment state unusable: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else if (incremental) {
    fullReason = `no payment state of ${addDays(p.asOf, -1)} for buckets ${p.bucketLo}-${p.bucketHi}`;
  }
  let m;
  try {
    m = await computeSnapshot(conn, files, p.asOf, { slots: p.slots, emptyFallback: world.emptyFallback, prev, table: false });
  } finally {
    conn.closeSync();
  }
  // The state for tomorrow; the day before stays (a rerun of this night needs it), older go.
  writeStateFile(stFile, { state: m.payment, userIds: m.userIds, asOf: p.asOf });
  pruneStateFiles(stFile, addDays(p.asOf, -1));
  fullReason = m.fullReason ?? fullReason;
  await deps.progress?.({ stage: 'features', users: m.n });
  const t2 = performance.now();

  const scorer = await deps.scorer(p.modelVersion);
  const H = ACTIONS.length;
  const scores = new Float32Array(m.n * H);
  const uplift = new Float32Array(m.n * H);
  for (let off = 0; off < m.n; off += SCORE_BATCH) {
    const rows = Math.min(SCORE_BATCH, m.n - off);
    const out = await scorer.score(m.x.subarray(off * FEATURE_COUNT, (off + rows) * FEATURE_COUNT), rows);
    splitModelOutputs(out, rows, scorer.outputWidth, scores.subarray(off * H), uplift.subarray(off * H));
  }
  // The snapshot with its scores: what tonight's audiences and tomorrow's training sets read.
  writeSnapshotParquet(p.snapshotDir, `chunk${String(p.chunkIndex).padStart(5, '0')}`, { ...m, scores, uplift });
  const t3 = performance.now();

  const campaigns = new Uint8Array(m.n * H);
  const gates = new Uint8Array(m.n);
  const flags = new Uint8Array(m.n);
  const stats = emptyStats();
  const planner = new CampaignPlanner(world.campaigns, p.asOf);
  for (let i = 0; i < m.n; i++) {
    gates[i] = planner.choose(m.country[i], m.kycTier[i], m.creditEligible[i] === 1, m.optoutBits[i], scores, i * H, campaigns, uplift);
    // optoutBits bit 3 = in_app (CHANNELS order): the one channel of the online surface
    flags[i] = profileFlags(m.kycTier[i], m.creditEligible[i] === 1, (m.optoutBits[i] & 8) !== 0);
    if (m.x[i * FEATURE_COUNT + INACTIVE_FEATURE] === 0) {
      flags[i] |= RECORD_FLAGS.NO_ACTIVITY;
      stats.inactive++;
    }
  }
  addScores(stats, scores, m.n);
  const records = encodeRecords(m.n, scores, uplift, campaigns, gates, flags, modelTagOf(p.modelVersion));
  const t4 = performance.now();

  const bytes = await deps.store.writeSlots(p.version, m.slots, m.userIds, records);
  await deps.progress?.({ stage: 'publish', users: m.n });
  const t5 = performance.now();

  return {
    chunkIndex: p.chunkIndex,
    users: m.n,
    bytes,
    modelVersion: p.modelVersion,
    stats,
    featureMode: m.mode,
    ...(m.mode === 'full' && fullReason ? { fullReason } : {}),
    timings: {
      verify_s: (t1 - t0) / 1000,
      features_s: (t2 - t1) / 1000,
      scoring_s: (t3 - t2) / 1000,
      policy_s: (t4 - t3) / 1000,
      publish_s: (t5 - t4) / 1000,
    },
  };
}

export function snapshotDirFor(dataDir: string, asOf: string): string {
  return path.join(dataDir, 'features', `as_of=${asOf}`);
}
