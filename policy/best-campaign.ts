/**
 * Batch-time choice of the best open campaign per action: among the campaigns of an action that
 * pass every gate, the one with the highest expected incremental value (offer-value.ts). Pure.
 */
import { ACTIONS } from '../core/actions';
import type { Campaign, GateSubject } from './campaign';
import { passesGates } from './compliance-gates';
import { offerEconomics } from './offer-value';

export const NO_CAMPAIGN = 0xff;

export interface CampaignChoice {
  /** Per action (ACTIONS order): campaign_id of the best open campaign, or NO_CAMPAIGN. */
  campaigns: number[];
  /** Bit i set when action i has at least one open campaign (`none` always set). */
  gateBits: number;
}

/** Groups campaigns by action index once, so per-user work is a short loop. */
export function campaignsByAction(campaigns: readonly Campaign[]): Campaign[][] {
  const by: Campaign[][] = ACTIONS.map(() => []);
  for (const c of campaigns) by[ACTIONS.indexOf(c.action as (typeof ACTIONS)[number])].push(c);
  return by;
}

/**
 * `scores` are uptake probabilities and `uplift` estimated uplifts, both row-major with the
 * user's row at `scoreOffset`; without `uplift` the score stands for both (the placeholder era).
 */
export function chooseCampaigns(byAction: Campaign[][], s: GateSubject, date: string, scores: ArrayLike<number>, scoreOffset = 0, uplift: ArrayLike<number> = scores): CampaignChoice {
  const campaigns: number[] = new Array(ACTIONS.length).fill(NO_CAMPAIGN);
  let gateBits = 1 << ACTIONS.indexOf('none');
  for (let a = 0; a < ACTIONS.length; a++) {
    let best = -Infinity;
    for (const c of byAction[a]) {
      if (!passesGates(c, s, date)) continue;
      const ev = offerEconomics(c, uplift[scoreOffset + a], scores[scoreOffset + a]).value;
      if (ev > best) {
        best = ev;
        campaigns[a] = c.campaign_id;
      }
    }
    if (campaigns[a] !== NO_CAMPAIGN) gateBits |= 1 << a;
  }
  return { campaigns, gateBits };
}

/**
 * The same choice as `chooseCampaigns` for a whole batch of users, with the gates evaluated once
 * per distinct (country, KYC tier, credit eligibility, opt-out bits) instead of once per user:
 * gates depend only on those four attributes and the date, so a batch of a million users
 * touches a few hundred gate combinations. Bit c of `optoutBits` is CHANNELS[c].
 */
export class CampaignPlanner {
  private readonly plans = new Map<string, { eligible: Campaign[][]; gateBits: number }>();

  constructor(
    private readonly byAction: Campaign[][],
    private readonly date: string,
  ) {}

  private plan(country: string, kycTier: number, creditEligible: boolean, optoutBits: number) {
    const key = `${country}|${kycTier}|${creditEligible ? 1 : 0}|${optoutBits}`;
    let p = this.plans.get(key);
    if (!p) {
      const s: GateSubject = {
        country,
        kycTier,
        creditEligible,
        optouts: { email: (optoutBits & 1) !== 0, push: (optoutBits & 2) !== 0, sms: (optoutBits & 4) !== 0, in_app: (optoutBits & 8) !== 0 },
      };
      const eligible = this.byAction.map((cs) => cs.filter((c) => passesGates(c, s, this.date)));
      let gateBits = 1 << ACTIONS.indexOf('none');
      eligible.forEach((cs, a) => {
        if (cs.length > 0) gateBits |= 1 << a;
      });
      p = { eligible, gateBits };
      this.plans.set(key, p);
    }
    return p;
  }

  /**
   * Writes the best campaign per action of user i into `out[i*H .. i*H+H)` (NO_CAMPAIGN when
   * none is open) and returns the user's gate bits. `scores` (uptake) and `uplift` are row-major
   * n × H; without `uplift` the score stands for both.
   */
  choose(country: string, kycTier: number, creditEligible: boolean, optoutBits: number, scores: ArrayLike<number>, offset: number, out: Uint8Array, uplift: ArrayLike<number> = scores): number {
    const p = this.plan(country, kycTier, creditEligible, optoutBits);
    for (let a = 0; a < p.eligible.length; a++) {
      const cs = p.eligible[a];
      let best = -Infinity;
      let id = NO_CAMPAIGN;
      const s = scores[offset + a];
      const u = uplift[offset + a];
      for (let k = 0; k < cs.length; k++) {
        const ev = offerEconomics(cs[k], u, s).value;
        if (ev > best) {
          best = ev;
          id = cs[k].campaign_id;
        }
      }
      out[offset + a] = id;
    }
    return p.gateBits;
  }

  /** Distinct gate combinations seen so far. */
  get combinations(): number {
    return this.plans.size;
  }
}
