/**
 * Who goes into which audience tonight: the policy layer run over every scored user and every
 * audience spec. Pure (typed arrays in, typed arrays out); the nightly job does the reading and
 * writing (jobs/audiences/).
 *
 * Per user, each audience is a candidate only if its campaign passes every compliance gate, the
 * user is in the spec's segment and over its score threshold, the campaign's caps and cooldown
 * allow it and the user is not fatigued; then the action choice keeps the candidates whose
 * expected incremental value clears their action's threshold, ε-exploration may pick another
 * of them (its propensity recorded), and one global greedy allocation by value gives each user
 * at most one offer within every audience's budget and top-k. Held-out users are selected like
 * everyone else (so the holdout is a random part of the same selection, the comparison that
 * measures incrementality) and written with their holdout flag, but not sent and not charged
 * to the budget. Every exclusion is counted per audience and reason code.
 */
import { ACTIONS } from '../core/actions';
import { OUTCOME, allocateFlat } from '../policy/budget-allocator';
import type { Campaign, GateSubject } from '../policy/campaign';
import { chooseAction, type Candidate } from '../policy/action-choice';
import { failedGates } from '../policy/compliance-gates';
import { explore } from '../policy/exploration';
import { fatigueReasons, type UserExposure } from '../policy/fatigue';
import { capReasons, type CampaignHistory } from '../policy/frequency-caps';
import { inCampaignHoldout, inGlobalHoldout } from '../policy/holdout';
import { offerEconomics } from '../policy/offer-value';
import type { PolicyConfig } from '../policy/policy-config';
import { REASONS, type ReasonCode } from '../policy/reason-codes';
import type { AudienceSpec } from './audience-spec';

export interface SelectionUsers {
  n: number;
  userIds: readonly string[];
  country: readonly string[];
  kycTier: Uint8Array;
  creditEligible: Uint8Array;
  /** Bit c set = opted out of CHANNELS[c] (email 1, push 2, sms 4, in_app 8). */
  optoutBits: Uint8Array;
  marketingConsent: Uint8Array;
  /** 1 = a payment in the last 30 days. */
  active30d: Uint8Array;
  /** Row-major n × ACTIONS.length: calibrated uptake P(goal | offered) — what thresholds and budgets read. */
  scores: Float32Array;
  /** Row-major n × ACTIONS.length: estimated uplift (the incremental value's driver); scores stand in when absent. */
  uplift?: Float32Array;
}

export interface ExposureHistory {
  /** Per user index: offers of any campaign. */
  user: ReadonlyMap<number, UserExposure>;
  /** Per user index, per campaign id: offers of that campaign. */
  campaign: ReadonlyMap<number, ReadonlyMap<number, CampaignHistory>>;
}

export interface AudienceRule {
  spec: AudienceSpec;
  campaign: Campaign;
  /** Budget this audience may still spend tonight (USD): its daily budget within what the campaign has left. */
  remainingUsd: number;
}

export const HOLDOUT = { NONE: 0, GLOBAL: 1, CAMPAIGN: 2 } as const;

export interface AudienceRows {
  /** User indices, ascending. */
  user: Uint32Array;
  score: Float32Array;
  value: Float64Array;
  cost: Float64Array;
  propensity: Float64Array;
  /** HOLDOUT per row. */
  holdout: Uint8Array;
}

export interface AudienceOutcome {
  rows: AudienceRows;
  /** Users excluded from this audience, per reason code (a user may count under several). */
  excluded: Partial<Record<ReasonCode, number>>;
  /** Expected cost of the rows that are sent (not held out), USD. */
  spentUsd: number;
  /** Expected incremental value of the rows that are sent, USD. */
  valueUsd: number;
}

export interface Selection {
  audiences: AudienceOutcome[];
  /** Users who got an offer (held out or not) / were chosen by exploration. */
  selectedUsers: number;
  exploredUsers: number;
}

const NONE: readonly ReasonCode[] = [];
const ACTION_INDEX = new Map<string, number>(ACTIONS.map((a, i) => [a, i]));

function subjectOf(u: SelectionUsers, i: number): GateSubject {
  const b = u.optoutBits[i];
  return {
    country: u.country[i],
    kycTier: u.kycTier[i],
    creditEligible: u.creditEligible[i] === 1,
    optouts: { email: (b & 1) !== 0, push: (b & 2) !== 0, sms: (b & 4) !== 0, in_app: (b & 8) !== 0 },
    marketingConsent: u.marketingConsent[i] === 1,
  };
}

function inSegment(s: AudienceSpec['segment'], u: SelectionUsers, i: number): boolean {
  if (s.countries && !s.countries.includes(u.country[i])) return false;
  if (s.min_kyc_tier !== undefined && u.kycTier[i] < s.min_kyc_tier) return false;
  if (s.active_30d !== undefined && (u.active30d[i] === 1) !== s.active_30d) return false;
  return true;
}

/** Runs the policy for epoch day `today` (the send day) over every user and audience. */
export function selectAudiences(cfg: PolicyConfig, users: SelectionUsers, rules: readonly AudienceRule[], history: ExposureHistory, today: number, date: string): Selection {
  const H = ACTIONS.length;
  const A = rules.length;
  const excluded: Map<ReasonCode, number>[] = rules.map(() => new Map());
  const bump = (a: number, r: ReasonCode, k = 1) => excluded[a].set(r, (excluded[a].get(r) ?? 0) + k);
  const actionOf = rules.map((r) => ACTION_INDEX.get(r.campaign.action)!);

  // Gates depend only on a handful of user attributes: evaluate them once per combination.
  const gateCache = new Map<number, (readonly ReasonCode[])[]>();
  const countryIndex = new Map<string, number>();
  // Users failing the same gates for an audience are counted per combination, added at the end.
  const gateUsers = new Map<number, number>();

  // Candidates, flat (CSR by user): audience index, value, cost.
  let cap = Math.max(16, users.n * 2);
  let key = new Int32Array(cap);
  let value = new Float64Array(cap);
  let cost = new Float64Array(cap);
  let len = 0;
  const offsets = new Uint32Array(users.n + 1);
  const propensity = new Float64Array(users.n);
  let exploredUsers = 0;
  const cands: Candidate[] = [];

  for (let i = 0; i < users.n; i++) {
    offsets[i] = len;
    let ci = countryIndex.get(users.country[i]);
    if (ci === undefined) countryIndex.set(users.country[i], (ci = countryIndex.size));
    // one integer per combination: country, KYC tier (0-3), credit, opt-out bits (0-15), consent
    const gk = ((((ci * 4 + users.kycTier[i]) * 2 + users.creditEligible[i]) * 16 + users.optoutBits[i]) * 2 + users.marketingConsent[i]);
    let gates = gateCache.get(gk);
    if (!gates) {
      const s = subjectOf(users, i);
      gates = rules.map((r) => failedGates(r.campaign, s, date));
      gateCache.set(gk, gates);
    }
    gateUsers.set(gk, (gateUsers.get(gk) ?? 0) + 1);
    const exposure = history.user.get(i);
    const fatigue = exposure ? fatigueReasons(cfg, exposure, today) : NONE;
    const hist = history.campaign.get(i);
    cands.length = 0;
    for (let a = 0; a < A; a++) {
      if (gates[a].length > 0) continue; // counted per combination below
      const r = rules[a];
      if (!inSegment(r.spec.segment, users, i)) {
        bump(a, REASONS.SEGMENT);
        continue;
      }
      const score = users.scores[i * H + actionOf[a]];
      if (r.spec.score_threshold !== undefined && score < r.spec.score_threshold) {
        bump(a, REASONS.SCORE_THRESHOLD);
        continue;
      }
      const h = hist?.get(r.campaign.campaign_id);
      const caps = h ? capReasons(r.campaign, h, today) : NONE;
      if (caps.length > 0 || fatigue.length > 0) {
        for (const x of caps) bump(a, x);
        for (const x of fatigue) bump(a, x);
        continue;
      }
      const e = offerEconomics(r.campaign, users.uplift ? users.uplift[i * H + actionOf[a]] : score, score);
      cands.push({ campaignId: a, action: r.campaign.action, value: e.value, cost: e.cost });
    }
    if (cands.length === 0) continue;
    const choice = chooseAction(cfg, cands);
    for (const x of choice.rejected) bump(x.candidate.campaignId, x.reason);
    if (choice.ranked.length === 0) continue;
    const ex = explore(cfg, users.userIds[i], today, choice.ranked.length, 0);
    if (ex.explored) exploredUsers++;
    propensity[i] = ex.propensity;
    // An explored user competes for the explored offer only; a greedy one for all, best first.
    const offered = ex.explored ? [choice.ranked[ex.index]] : choice.ranked;
    if (ex.explored) for (const c of choice.ranked) if (c !== offered[0]) bump(c.campaignId, REASONS.OUTRANKED);
    if (len + offered.length > cap) {
      cap *= 2;
      const k2 = new Int32Array(cap), v2 = new Float64Array(cap), c2 = new Float64Array(cap);
      k2.set(key), v2.set(value), c2.set(cost);
      (key = k2), (value = v2), (cost = c2);
    }
    for (const c of offered) {
      key[len] = c.campaignId;
      value[len] = c.value;
      cost[len] = c.cost;
      len++;
    }
  }
  offsets[users.n] = len;
  for (const [gk, n] of gateUsers) gateCache.get(gk)!.forEach((rs, a) => rs.forEach((r) => bump(a, r, n)));

  const remaining = new Map(rules.map((r, a) => [a, Math.max(0, r.remainingUsd)]));
  const capacity = new Map<number, number>();
  rules.forEach((r, a) => r.spec.top_k !== undefined && capacity.set(a, r.spec.top_k));
  const alloc = allocateFlat({ offsets, key: key.subarray(0, len), value: value.subarray(0, len), cost: cost.subarray(0, len) }, remaining, capacity);
  for (let j = 0; j < len; j++) {
    const o = alloc.outcome[j];
    if (o === OUTCOME.OUTRANKED) bump(key[j], REASONS.OUTRANKED);
    else if (o === OUTCOME.BUDGET) bump(key[j], REASONS.BUDGET);
    else if (o === OUTCOME.CAPACITY) bump(key[j], REASONS.TOP_K);
  }

  // Rows per audience, users ascending.
  const members: number[][] = rules.map(() => []);
  let selectedUsers = 0;
  for (let i = 0; i < users.n; i++) {
    const g = alloc.granted[i];
    if (g < 0) continue;
    members[key[g]].push(i);
    selectedUsers++;
  }
  const globalHoldout = (i: number) => inGlobalHoldout(cfg, users.userIds[i]);
  const audiences = rules.map((r, a): AudienceOutcome => {
    const m = members[a];
    const rows: AudienceRows = {
      user: Uint32Array.from(m),
      score: new Float32Array(m.length),
      value: new Float64Array(m.length),
      cost: new Float64Array(m.length),
      propensity: new Float64Array(m.length),
      holdout: new Uint8Array(m.length),
    };
    let spentUsd = 0;
    let valueUsd = 0;
    m.forEach((i, j) => {
      const g = alloc.granted[i];
      rows.score[j] = users.scores[i * H + actionOf[a]];
      rows.value[j] = value[g];
      rows.cost[j] = cost[g];
      rows.propensity[j] = propensity[i];
      const h = globalHoldout(i) ? HOLDOUT.GLOBAL : inCampaignHoldout(cfg, users.userIds[i], r.campaign.campaign_id) ? HOLDOUT.CAMPAIGN : HOLDOUT.NONE;
      rows.holdout[j] = h;
      if (h === HOLDOUT.GLOBAL) bump(a, REASONS.HOLDOUT_GLOBAL);
      else if (h === HOLDOUT.CAMPAIGN) bump(a, REASONS.HOLDOUT_CAMPAIGN);
      else {
        spentUsd += cost[g];
        valueUsd += value[g];
      }
    });
    return { rows, excluded: Object.fromEntries([...excluded[a]].sort(([x], [y]) => (x < y ? -1 : 1))), spentUsd, valueUsd };
  });
  return { audiences, selectedUsers, exploredUsers };
}
