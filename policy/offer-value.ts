/**
 * The economics of one offer to one user, shared by every ranking in the product (the nightly
 * record's best campaign per action, audiences, the online choice): expected incremental value
 * = uplift × value of the outcome − uptake × cost of the offer, and expected cost (what a budget
 * pays) = uptake × cost of the offer. Until the uplift models land (issue 5) the spine's score
 * stands for both uplift and uptake.
 */
import type { Campaign } from './campaign';

export interface OfferEconomics {
  /** Expected incremental value, USD (may be negative). */
  value: number;
  /** Expected cost charged to the campaign's budget, USD. */
  cost: number;
}

export function offerEconomics(c: Pick<Campaign, 'value_usd' | 'offer_cost_usd'>, uplift: number, uptake = uplift): OfferEconomics {
  const cost = uptake * c.offer_cost_usd;
  return { value: uplift * c.value_usd - cost, cost };
}
