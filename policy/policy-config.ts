/**
 * The policy's own settings (not the campaigns'): fatigue limits, holdout sizes and salts,
 * exploration rate and value thresholds. Validated with zod; errors name the field. The nightly
 * and the online service load the same file, so both paths decide alike.
 */
import { z } from 'zod';
import { OFFER_ACTIONS } from '../core/actions';

const fraction = z.number().min(0).max(1);

export const policyConfigSchema = z.object({
  /** Policy version, written into audience manifests and online answers. */
  version: z.string().min(1).default('policy-1'),
  /** Offers to one user across all campaigns within 7 days, at most. */
  max_offers_7d: z.number().int().min(0).default(3),
  /** Whole days between two offers to one user, at least (1 = not twice on the same day). */
  min_gap_days: z.number().int().min(0).default(1),
  /** Share of users held out of every campaign (measures the policy's total incrementality). */
  global_holdout: fraction.default(0.05),
  /** Share of a campaign's chosen users withheld from it (measures that campaign). */
  campaign_holdout: fraction.default(0.1),
  /** Salt of the holdout hashes: changing it reshuffles who is held out. */
  holdout_salt: z.string().min(1).default('holdout-v1'),
  /** ε of ε-greedy exploration among the eligible actions. */
  epsilon: fraction.default(0.05),
  /** Salt of the exploration draws. */
  exploration_salt: z.string().min(1).default('explore-v1'),
  /** Expected incremental value (USD) an offer must exceed to be chosen over `none`, per action. */
  min_value_usd: z.record(z.enum(OFFER_ACTIONS as [string, ...string[]]), z.number()).default({}),
});
export type PolicyConfig = z.infer<typeof policyConfigSchema>;

/** Validates `raw` (e.g. parsed JSON); throws an Error naming every bad field. */
export function parsePolicyConfig(raw: unknown, source = 'policy config'): PolicyConfig {
  const r = policyConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export const DEFAULT_POLICY: PolicyConfig = parsePolicyConfig({});
