/**
 * Wiring of the audiences stage for a process: the policy config file, the audience store from
 * config, and the snapshot of a published score version. Used by the nightly after its flip
 * and by `paydecide audiences build` (a rerun of one date's audiences without rescoring).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { openObjectStore } from '../../core/open-object-store';
import type { StoreStats } from '../../core/object-store';
import { DEFAULT_POLICY, parsePolicyConfig, type PolicyConfig } from '../../policy/policy-config';
import { snapshotDirFor } from '../nightly/chunk-job';
import { buildAudiences, type BuildAudiencesResult } from './build-audiences';

export function loadPolicyConfig(file: string | undefined): PolicyConfig {
  if (!file) return DEFAULT_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PaydecideError(ErrorCodes.POLICY_CONFIG, `PAYDECIDE_POLICY_FILE ${file}: ${(e as Error).message}`);
  }
  try {
    return parsePolicyConfig(raw, file);
  } catch (e) {
    throw new PaydecideError(ErrorCodes.POLICY_CONFIG, (e as Error).message);
  }
}

export interface PublishAudiencesResult extends BuildAudiencesResult {
  store: string;
  storeStats: StoreStats;
}

export async function publishAudiences(cfg: Config, o: { dataDir: string; asOf: string; scoresVersion: string; modelVersion: string; logger: Logger }): Promise<PublishAudiencesResult> {
  const policy = loadPolicyConfig(cfg.policyFile);
  const dataDir = path.resolve(o.dataDir);
  const snapshotDir = snapshotDirFor(dataDir, o.asOf);
  if (!fs.existsSync(snapshotDir)) {
    throw new PaydecideError(ErrorCodes.INPUT_MISSING, `no scored snapshot of ${o.asOf} in ${dataDir}/features (run the nightly for that date first)`);
  }
  const store = openObjectStore(cfg.audiences, cfg.s3);
  try {
    const r = await buildAudiences({
      dataDir,
      asOf: o.asOf,
      scoresVersion: o.scoresVersion,
      modelVersion: o.modelVersion,
      snapshotDir,
      store,
      specsDir: cfg.audienceSpecs,
      policy,
      duck: { threads: cfg.duckdbThreads, memory: cfg.duckdbMemory },
      logger: o.logger,
    });
    return { ...r, store: store.url, storeStats: { ...store.stats } };
  } finally {
    store.close();
  }
}
