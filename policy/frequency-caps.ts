/**
 * Frequency caps and cooldowns of one campaign for one user: at most `per_user_cap` offers in
 * any 30 days, and at least `cooldown_days` whole days since the last offer of the campaign.
 * Pure: the caller supplies the user's history with the campaign (from the decision log at
 * night, from Redis counters online).
 */
import type { Campaign } from './campaign';
import { REASONS, type ReasonCode } from './reason-codes';

/** Window of `per_user_cap` (the world's schema: offers per user per 30 days). */
export const CAP_WINDOW_DAYS = 30;

export interface CampaignHistory {
  /** Offers of this campaign to this user in the last CAP_WINDOW_DAYS days (before today). */
  offers30d: number;
  /** Epoch day of the last offer of this campaign to this user, or null if never. */
  lastOfferDay: number | null;
}

/** Reasons the campaign may not be offered to the user on epoch day `today` (empty = allowed). */
export function capReasons(c: Pick<Campaign, 'per_user_cap' | 'cooldown_days'>, h: CampaignHistory | undefined, today: number): ReasonCode[] {
  if (!h) return [];
  const out: ReasonCode[] = [];
  if (h.offers30d >= c.per_user_cap) out.push(REASONS.CAP);
  if (h.lastOfferDay !== null && today - h.lastOfferDay < c.cooldown_days) out.push(REASONS.COOLDOWN);
  return out;
}
