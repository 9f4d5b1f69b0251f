/**
 * Deterministic holdouts: whether a user is held out depends only on (user, salt) for the global
 * holdout and (user, campaign, salt) for a campaign's, never on the day, the run or the order of
 * users, so the same users stay out night after night and online decisions agree with the
 * nightly audiences. Sizes are the configured fractions in expectation (tested with a binomial
 * bound).
 */
import type { PolicyConfig } from './policy-config';
import { unitHash } from './stable-hash';

export function inGlobalHoldout(cfg: Pick<PolicyConfig, 'global_holdout' | 'holdout_salt'>, userId: string): boolean {
  return unitHash('global', cfg.holdout_salt, userId) < cfg.global_holdout;
}

export function inCampaignHoldout(cfg: Pick<PolicyConfig, 'campaign_holdout' | 'holdout_salt'>, userId: string, campaignId: number): boolean {
  return unitHash('campaign', cfg.holdout_salt, campaignId, userId) < cfg.campaign_holdout;
}
