/**
 * Action choice for one user among the campaigns that survived gates, caps and fatigue: the
 * campaign of highest expected incremental value (uplift × value of the outcome − cost of the
 * offer), or `none` when no candidate clears its action's value threshold.
 */
import type { PolicyConfig } from './policy-config';
import { REASONS, type ReasonCode } from './reason-codes';

export interface Candidate {
  campaignId: number;
  action: string;
  /** Expected incremental value in USD (may be negative). */
  value: number;
  /** Expected cost in USD if offered (offer cost × predicted uptake): what the budget pays. */
  cost: number;
}

export interface Choice {
  /** The chosen candidate, or null for `none`. */
  chosen: Candidate | null;
  /** Candidates that clear their threshold, best first (the budget allocator's fallbacks). */
  ranked: Candidate[];
  /** Candidates that did not clear their threshold. */
  rejected: { candidate: Candidate; reason: ReasonCode }[];
}

/** Ties break on the lower campaign id, so the choice never depends on input order. */
export function byValue(a: Candidate, b: Candidate): number {
  return b.value - a.value || a.campaignId - b.campaignId;
}

export function chooseAction(cfg: Pick<PolicyConfig, 'min_value_usd'>, candidates: readonly Candidate[]): Choice {
  const ranked: Candidate[] = [];
  const rejected: Choice['rejected'] = [];
  for (const c of candidates) {
    const min = (cfg.min_value_usd as Record<string, number>)[c.action] ?? 0;
    if (c.value > min && Number.isFinite(c.value)) ranked.push(c);
    else rejected.push({ candidate: c, reason: REASONS.BELOW_THRESHOLD });
  }
  ranked.sort(byValue);
  return { chosen: ranked[0] ?? null, ranked, rejected };
}
