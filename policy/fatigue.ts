/**
 * Fatigue across campaigns: a user who saw many offers recently, or one today, gets none more,
 * whatever the campaign. Pure: the caller supplies the user's recent exposures.
 */
import type { PolicyConfig } from './policy-config';
import { REASONS, type ReasonCode } from './reason-codes';

export interface UserExposure {
  /** Offers of any campaign to this user in the last 7 days (before today). */
  offers7d: number;
  /** Epoch day of the user's last offer of any campaign, or null if never. */
  lastOfferDay: number | null;
}

/** Reasons the user may get no offer at all on epoch day `today` (empty = not fatigued). */
export function fatigueReasons(cfg: Pick<PolicyConfig, 'max_offers_7d' | 'min_gap_days'>, e: UserExposure | undefined, today: number): ReasonCode[] {
  if (!e) return [];
  const out: ReasonCode[] = [];
  if (e.offers7d >= cfg.max_offers_7d) out.push(REASONS.FATIGUE_WEEK);
  if (e.lastOfferDay !== null && today - e.lastOfferDay < cfg.min_gap_days) out.push(REASONS.FATIGUE_GAP);
  return out;
}
