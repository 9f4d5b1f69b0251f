/**
 * Per-campaign budgets with a quota allocator across users: every (user, campaign) candidate
 * that cleared its threshold is considered in order of expected incremental value, best first
 * across the whole population, and granted when the user has no offer yet, the campaign's
 * remaining budget covers its expected cost (offer cost × predicted uptake) and the campaign
 * still has room (an audience's top-k). A user whose best campaign ran out may still get the
 * next one. Greedy by value under per-campaign budgets: the classic approximation of the
 * budgeted assignment; deterministic (ties: the candidate's position in user order). No budget
 * or capacity is ever exceeded (tested).
 *
 * The nightly works on a million users with several candidates each, so the core works on flat
 * arrays (one row per candidate, users' candidates contiguous: CSR) instead of objects.
 */
import { REASONS, type ReasonCode } from './reason-codes';

/** Candidates of all users, flat: user u's are rows offsets[u] .. offsets[u+1]-1. */
export interface FlatCandidates {
  offsets: Uint32Array;
  /** Campaign (or audience) key of each candidate. */
  key: Int32Array;
  value: Float64Array;
  cost: Float64Array;
}

/** What became of one candidate. */
export const OUTCOME = { GRANTED: 0, OUTRANKED: 1, BUDGET: 2, CAPACITY: 3 } as const;

export interface FlatAllocation {
  /** Per user: the granted candidate row, or -1. */
  granted: Int32Array;
  /** Per candidate row: OUTCOME. */
  outcome: Uint8Array;
  /** Per key: USD of expected cost granted. */
  spent: Map<number, number>;
  /** Per key: candidates granted. */
  count: Map<number, number>;
}

/**
 * `remaining` is each key's budget left (USD; a key missing from it has none); `capacity` caps
 * the candidates granted per key (a key missing from it has no cap).
 */
export function allocateFlat(c: FlatCandidates, remaining: ReadonlyMap<number, number>, capacity: ReadonlyMap<number, number> = new Map()): FlatAllocation {
  const nUsers = c.offsets.length - 1;
  const total = c.offsets[nUsers];
  const owner = new Uint32Array(total);
  for (let u = 0; u < nUsers; u++) owner.fill(u, c.offsets[u], c.offsets[u + 1]);
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  const v = c.value;
  order.sort((a, b) => v[b] - v[a] || a - b);

  const left = new Map(remaining);
  const room = new Map(capacity);
  const spent = new Map<number, number>();
  const count = new Map<number, number>();
  const granted = new Int32Array(nUsers).fill(-1);
  // Until decided otherwise a candidate lost to its user's other offer; budget/capacity below.
  const outcome = new Uint8Array(total).fill(OUTCOME.OUTRANKED);
  for (let j = 0; j < total; j++) {
    const i = order[j];
    const u = owner[i];
    if (granted[u] >= 0) continue;
    const k = c.key[i];
    const r = room.get(k);
    if (r !== undefined && r <= 0) {
      outcome[i] = OUTCOME.CAPACITY;
      continue;
    }
    const budget = left.get(k) ?? 0;
    if (!(c.cost[i] <= budget)) {
      outcome[i] = OUTCOME.BUDGET;
      continue;
    }
    left.set(k, budget - c.cost[i]);
    if (r !== undefined) room.set(k, r - 1);
    spent.set(k, (spent.get(k) ?? 0) + c.cost[i]);
    count.set(k, (count.get(k) ?? 0) + 1);
    granted[u] = i;
    outcome[i] = OUTCOME.GRANTED;
  }
  // A candidate of a user who got another offer counts as outranked, whatever it met first.
  for (let u = 0; u < nUsers; u++) {
    if (granted[u] < 0) continue;
    for (let i = c.offsets[u]; i < c.offsets[u + 1]; i++) if (i !== granted[u]) outcome[i] = OUTCOME.OUTRANKED;
  }
  return { granted, outcome, spent, count };
}

export interface Allocation {
  /** Per user: index into that user's candidate list of the granted offer, or -1. */
  granted: Int32Array;
  /** Per campaign id: USD of expected cost granted. */
  spent: Map<number, number>;
  /** Per user without an offer but with candidates: why (BUDGET_EXHAUSTED). */
  reasons: Map<number, ReasonCode>;
}

/** The same allocation over per-user candidate lists (the online path and tests). */
export function allocateBudgets(candidates: readonly (readonly { campaignId: number; value: number; cost: number }[])[], remaining: ReadonlyMap<number, number>): Allocation {
  const offsets = new Uint32Array(candidates.length + 1);
  for (let u = 0; u < candidates.length; u++) offsets[u + 1] = offsets[u] + candidates[u].length;
  const total = offsets[candidates.length];
  const flat: FlatCandidates = { offsets, key: new Int32Array(total), value: new Float64Array(total), cost: new Float64Array(total) };
  candidates.forEach((cs, u) =>
    cs.forEach((x, k) => {
      flat.key[offsets[u] + k] = x.campaignId;
      flat.value[offsets[u] + k] = x.value;
      flat.cost[offsets[u] + k] = x.cost;
    }),
  );
  const a = allocateFlat(flat, remaining);
  const granted = new Int32Array(candidates.length).fill(-1);
  const reasons = new Map<number, ReasonCode>();
  for (let u = 0; u < candidates.length; u++) {
    if (a.granted[u] >= 0) granted[u] = a.granted[u] - offsets[u];
    else if (candidates[u].length > 0) reasons.set(u, REASONS.BUDGET);
  }
  return { granted, spent: a.spent, reasons };
}
