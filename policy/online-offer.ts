/**
 * The policy of the nightly re-run at payment time, for one user: compliance gates checked
 * against this payment (its country and MCC) and the user's profile from the score record,
 * per-user caps, cooldowns and fatigue from the user's recent offers, each campaign's online
 * budget for today, holdouts, the value threshold, and ε-greedy exploration with the chosen
 * offer's propensity. The online surface is in-app, so only `in_app` campaigns are candidates.
 * Pure: the service supplies the counters it read from Redis; the golden parity cases run the
 * same function over the batch path's inputs.
 */
import { ACTIONS, type Action } from '../core/actions';
import type { Campaign, GateSubject } from './campaign';
import { chooseAction, type Candidate } from './action-choice';
import { failedGates } from './compliance-gates';
import { explore } from './exploration';
import { fatigueReasons } from './fatigue';
import { CAP_WINDOW_DAYS, capReasons } from './frequency-caps';
import { inCampaignHoldout, inGlobalHoldout } from './holdout';
import { offerEconomics } from './offer-value';
import type { PolicyConfig } from './policy-config';
import { REASONS, type ReasonCode } from './reason-codes';

/** The channel of the online surface. */
export const ONLINE_CHANNEL = 'in_app';

/** One past offer to the user (epoch day, campaign). */
export interface OfferHistoryEntry {
  day: number;
  campaignId: number;
}

export interface OnlineOfferInput {
  userId: string;
  /** The decision's day, YYYY-MM-DD (UTC). */
  date: string;
  /** The same day as days since 1970-01-01. */
  day: number;
  /** The payment's country (ISO 3166 alpha-2). */
  country: string;
  /** The payment's merchant category code, when there is one. */
  mcc: string | null;
  kycTier: number;
  creditEligible: boolean;
  optoutInApp: boolean;
  /** Uptake P(goal | offered) per action, `ACTIONS` order. */
  uptake: ArrayLike<number>;
  /** Estimated uplift per action, `ACTIONS` order. */
  uplift: ArrayLike<number>;
  campaigns: readonly Campaign[];
  /** The user's offers of the last CAP_WINDOW_DAYS days (any order). */
  history: readonly OfferHistoryEntry[];
  /** USD of expected cost granted online today per campaign id. */
  spentUsd: ReadonlyMap<number, number>;
  /** Share of each campaign's budget the online surface may spend (paced evenly over its days). */
  budgetShare: number;
  policy: PolicyConfig;
}

export interface OnlineOffer {
  action: Action;
  /** The campaign shown, or null for `none`. */
  campaignId: number | null;
  /** The chosen action's uptake (0 for `none`). */
  score: number;
  /** Expected incremental value, USD (0 for `none`). */
  value: number;
  /** Expected cost charged to the campaign's budget, USD (0 for `none`). */
  cost: number;
  /** Probability that this policy chose this answer. */
  propensity: number;
  explored: boolean;
  /** Why this answer: for `none` the reasons no offer survived; for an offer, EXPLORATION when explored. */
  reasons: ReasonCode[];
}

const DAY_MS = 86_400_000;

/** Days a campaign runs, both ends included (at least 1). */
export function campaignDays(c: Pick<Campaign, 'start_date' | 'end_date'>): number {
  return Math.max(1, Math.round((Date.parse(c.end_date) - Date.parse(c.start_date)) / DAY_MS) + 1);
}

/** Today's online budget of a campaign: its share of the budget, paced evenly over its days. */
export function onlineDailyBudget(c: Pick<Campaign, 'budget_usd' | 'start_date' | 'end_date'>, share: number): number {
  return (c.budget_usd * share) / campaignDays(c);
}

const NONE_ANSWER = (reasons: ReasonCode[]): OnlineOffer => ({ action: 'none', campaignId: null, score: 0, value: 0, cost: 0, propensity: 1, explored: false, reasons });

export function decideOnlineOffer(x: OnlineOfferInput): OnlineOffer {
  const p = x.policy;
  if (inGlobalHoldout(p, x.userId)) return NONE_ANSWER([REASONS.HOLDOUT_GLOBAL]);

  let offers7d = 0;
  let lastAny: number | null = null;
  const perCampaign = new Map<number, { offers30d: number; lastOfferDay: number | null }>();
  for (const h of x.history) {
    const age = x.day - h.day;
    if (age < 0 || age >= CAP_WINDOW_DAYS) continue;
    if (age < 7) offers7d++;
    if (lastAny === null || h.day > lastAny) lastAny = h.day;
    const c = perCampaign.get(h.campaignId) ?? { offers30d: 0, lastOfferDay: null };
    c.offers30d++;
    if (c.lastOfferDay === null || h.day > c.lastOfferDay) c.lastOfferDay = h.day;
    perCampaign.set(h.campaignId, c);
  }
  const fatigue = fatigueReasons(p, { offers7d, lastOfferDay: lastAny }, x.day);
  if (fatigue.length > 0) return NONE_ANSWER(fatigue);

  const subject: GateSubject = {
    country: x.country,
    kycTier: x.kycTier,
    creditEligible: x.creditEligible,
    optouts: { email: false, push: false, sms: false, in_app: x.optoutInApp },
  };
  const why = new Set<ReasonCode>();
  const cands: Candidate[] = [];
  for (const c of x.campaigns) {
    if (c.channel !== ONLINE_CHANNEL) continue;
    const gates = failedGates(c, subject, x.date, x.mcc ?? undefined);
    if (gates.length > 0) {
      for (const g of gates) why.add(g);
      continue;
    }
    const caps = capReasons(c, perCampaign.get(c.campaign_id), x.day);
    if (caps.length > 0) {
      for (const r of caps) why.add(r);
      continue;
    }
    if (inCampaignHoldout(p, x.userId, c.campaign_id)) {
      why.add(REASONS.HOLDOUT_CAMPAIGN);
      continue;
    }
    const a = ACTIONS.indexOf(c.action as Action);
    const e = offerEconomics(c, x.uplift[a], x.uptake[a]);
    const left = onlineDailyBudget(c, x.budgetShare) - (x.spentUsd.get(c.campaign_id) ?? 0);
    if (!(e.cost <= left)) {
      why.add(REASONS.BUDGET);
      continue;
    }
    cands.push({ campaignId: c.campaign_id, action: c.action, value: e.value, cost: e.cost });
  }
  const choice = chooseAction(p, cands);
  for (const r of choice.rejected) why.add(r.reason);
  if (choice.ranked.length === 0) return NONE_ANSWER(why.size > 0 ? [...why].sort() : [REASONS.NO_ELIGIBLE]);

  const ex = explore(p, x.userId, x.day, choice.ranked.length, 0);
  const chosen = choice.ranked[ex.index];
  const a = ACTIONS.indexOf(chosen.action as Action);
  return {
    action: chosen.action as Action,
    campaignId: chosen.campaignId,
    score: x.uptake[a],
    value: chosen.value,
    cost: chosen.cost,
    propensity: ex.propensity,
    explored: ex.explored,
    reasons: ex.explored ? [REASONS.EXPLORATION] : [],
  };
}
