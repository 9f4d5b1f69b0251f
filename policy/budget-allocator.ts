/**
 * Per-campaign budgets with a quota allocator across users: every (user, campaign) candidate
 * that cleared its threshold is considered in order of expected incremental value, best first
 * across the whole population, and granted when the user has no offer yet and the campaign's
 * remaining budget covers its expected cost (offer cost × predicted uptake). A user whose best
 * campaign ran out may still get the next one. Greedy by value per dollar-constrained campaign:
 * the classic approximation of the budgeted assignment; deterministic (ties: user, then
 * campaign). No budget is ever exceeded (tested).
 */
import { REASONS, type ReasonCode } from './reason-codes';

export interface Allocation {
  /** Per user: index into that user's candidate list of the granted offer, or -1. */
  granted: Int32Array;
  /** Per campaign id: USD of expected cost granted. */
  spent: Map<number, number>;
  /** Per user without an offer but with candidates: why (BUDGET_EXHAUSTED). */
  reasons: Map<number, ReasonCode>;
}

/**
 * `candidates[u]` are user u's candidates (any order); `remaining` is each campaign's budget
 * left (USD; a campaign missing from it has none).
 */
export function allocateBudgets(candidates: readonly (readonly { campaignId: number; value: number; cost: number }[])[], remaining: ReadonlyMap<number, number>): Allocation {
  const nUsers = candidates.length;
  let total = 0;
  for (const cs of candidates) total += cs.length;
  const user = new Uint32Array(total);
  const idx = new Uint32Array(total);
  const value = new Float64Array(total);
  let p = 0;
  for (let u = 0; u < nUsers; u++) {
    const cs = candidates[u];
    for (let k = 0; k < cs.length; k++) {
      user[p] = u;
      idx[p] = k;
      value[p] = cs[k].value;
      p++;
    }
  }
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => value[b] - value[a] || user[a] - user[b] || candidates[user[a]][idx[a]].campaignId - candidates[user[b]][idx[b]].campaignId);

  const left = new Map(remaining);
  const spent = new Map<number, number>();
  const granted = new Int32Array(nUsers).fill(-1);
  for (const i of order) {
    const u = user[i];
    if (granted[u] >= 0) continue;
    const c = candidates[u][idx[i]];
    const budget = left.get(c.campaignId) ?? 0;
    if (!(c.cost <= budget)) continue;
    left.set(c.campaignId, budget - c.cost);
    spent.set(c.campaignId, (spent.get(c.campaignId) ?? 0) + c.cost);
    granted[u] = idx[i];
  }
  const reasons = new Map<number, ReasonCode>();
  for (let u = 0; u < nUsers; u++) if (granted[u] < 0 && candidates[u].length > 0) reasons.set(u, REASONS.BUDGET);
  return { granted, spent, reasons };
}
