/**
 * Batch-time choice of the best open campaign per action: among the campaigns of an action that
 * pass every gate, the one with the highest expected value score × value − cost. Pure.
 */
import { ACTIONS } from '../core/actions';
import type { Campaign, GateSubject } from './campaign';
import { passesGates } from './compliance-gates';

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

export function chooseCampaigns(byAction: Campaign[][], s: GateSubject, date: string, scores: ArrayLike<number>, scoreOffset = 0): CampaignChoice {
  const campaigns: number[] = new Array(ACTIONS.length).fill(NO_CAMPAIGN);
  let gateBits = 1 << ACTIONS.indexOf('none');
  for (let a = 0; a < ACTIONS.length; a++) {
    let best = -Infinity;
    for (const c of byAction[a]) {
      if (!passesGates(c, s, date)) continue;
      const ev = scores[scoreOffset + a] * c.value_usd - c.offer_cost_usd;
      if (ev > best) {
        best = ev;
        campaigns[a] = c.campaign_id;
      }
    }
    if (campaigns[a] !== NO_CAMPAIGN) gateBits |= 1 << a;
  }
  return { campaigns, gateBits };
}
