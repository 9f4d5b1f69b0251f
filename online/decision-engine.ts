/**
 * One growth decision at payment time, always inside the deadline. The steps:
 *   1. shed (overload) or skip Redis (circuit open) at once when the process cannot serve;
 *   2. ONE Redis round trip: the live version's packed record of the user plus the user's
 *      offers and today's campaign spend (online-store.ts);
 *   3. the ONNX adjuster over the record's scores and this payment's context (source `model`),
 *      or the record's scores as they are (`precomputed`) when the adjuster is switched off or
 *      was trained over another uplift model than the live scores';
 *   4. the policy re-run with this payment (policy/online-offer.ts);
 *   5. an offer is recorded atomically (caps, fatigue and budget re-checked in Redis).
 * Any fault answers `none` with `source: fallback:<reason>` (fail-open as data): the caller
 * never sees an exception, and a step that would end after the deadline is abandoned.
 */
import { randomUUID } from 'node:crypto';
import { ACTIONS, type Action } from '../core/actions';
import { adjusterInputInto, ADJUSTER_WIDTH, type PaymentContext } from '../core/context-features';
import type { OnlineSettings } from '../core/config';
import { toUsd } from '../core/currency';
import type { OnlineDecisionRow } from '../core/decision-log';
import { decodeRecord, profileOf } from '../core/score-record-codec';
import { splitModelOutputs } from '../models/model-outputs';
import { decideOnlineOffer, onlineDailyBudget } from '../policy/online-offer';
import type { PolicyConfig } from '../policy/policy-config';
import type { CircuitBreaker } from './circuit-breaker';
import type { LiveState } from './live-state';
import type { LoadShedder } from './load-shedder';
import type { OnlineStore } from './online-store';
import type { DecisionRequest } from './request-schema';
import { Timeout, within } from './deadline';

export type FallbackReason =
  | 'overload'
  | 'deadline'
  | 'circuit_open'
  | 'redis_timeout'
  | 'redis_error'
  | 'no_live_version'
  | 'record_missing'
  | 'record_corrupt'
  | 'no_campaigns'
  | 'model_missing'
  | 'model_timeout'
  | 'model_error'
  | 'internal';

export interface DecisionAnswer {
  decision_id: string;
  action: Action;
  campaign_id: number | null;
  score: number;
  expected_value: number;
  propensity: number;
  source: string;
  reasons: string[];
  latency_ms: number;
  versions: { scores: string | null; model: string | null; adjuster: string | null; policy: string };
}

export interface Decided {
  answer: DecisionAnswer;
  /** The decision-log row (the stream entry), without latency (set when the reply is sent). */
  row: OnlineDecisionRow;
}

export interface EngineDeps {
  store: OnlineStore;
  live: LiveState;
  breaker: CircuitBreaker;
  shedder: LoadShedder;
  policy: PolicyConfig;
  settings: OnlineSettings;
  /** Wall clock (tests pin the day). */
  now?: () => number;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

const DAY_MS = 86_400_000;

/** The fail-open answer when not even the engine ran (the server's last-resort error path). */
export function fallbackAnswer(reason: FallbackReason, policyVersion: string): DecisionAnswer {
  return { decision_id: randomUUID(), action: 'none', campaign_id: null, score: 0, expected_value: 0, propensity: 1, source: `fallback:${reason}`, reasons: [], latency_ms: 0, versions: { scores: null, model: null, adjuster: null, policy: policyVersion } };
}

/** The payment context the decision log records, from a request (core/context-features.ts). */
export function requestContext(req: DecisionRequest, nowMs: number): PaymentContext {
  const usd = req.amount !== undefined && req.currency !== undefined ? (toUsd(req.amount, req.currency) ?? null) : null;
  return {
    amountUsd: usd,
    mcc: req.mcc ?? null,
    channel: req.channel ?? null,
    authOutcome: req.auth_outcome ?? (req.event === 'payment_failed' ? 'declined' : req.event === 'payment_completed' ? 'approved' : null),
    hourUtc: new Date(nowMs).getUTCHours(),
  };
}

export class DecisionEngine {
  private readonly now: () => number;

  constructor(private readonly d: EngineDeps) {
    this.now = d.now ?? Date.now;
  }

  /**
   * Decides for `req`, which reached the server at `receivedAt` (performance.now()). Never
   * rejects; resolves by receivedAt + deadline (plus timer slack).
   */
  async decide(req: DecisionRequest, receivedAt: number): Promise<Decided> {
    const nowMs = this.now();
    const decisionId = randomUUID();
    const ctx = requestContext(req, nowMs);
    const deadlineAt = receivedAt + this.d.settings.deadlineMs;
    const left = () => deadlineAt - performance.now();
    const base = {
      decisionId,
      nowMs,
      ctx,
      req,
      versions: { scores: null as string | null, model: null as string | null, adjuster: null as string | null, policy: this.d.policy.version },
    };
    const fallback = (reason: FallbackReason): Decided => this.answer(base, { source: `fallback:${reason}` });

    const shed = this.d.shedder.shouldShed();
    if (shed) return fallback(shed);
    if (left() <= 0) return fallback('deadline');
    if (!this.d.breaker.allow()) return fallback('circuit_open');

    this.d.shedder.inflight++;
    try {
      return await this.decideInner(base, left, fallback);
    } catch {
      return fallback('internal');
    } finally {
      this.d.shedder.inflight--;
    }
  }

  private async decideInner(base: Base, left: () => number, fallback: (r: FallbackReason) => Decided): Promise<Decided> {
    const { req, nowMs, ctx, versions } = base;
    const date = new Date(nowMs).toISOString().slice(0, 10);
    const day = Math.floor(nowMs / DAY_MS);

    let reads;
    try {
      reads = await within(this.d.store.read(req.user_id, date), left());
      this.d.breaker.success();
    } catch (e) {
      this.d.breaker.failure();
      return fallback(e instanceof Timeout ? 'redis_timeout' : 'redis_error');
    }
    if (reads.version === null) return fallback('no_live_version');
    versions.scores = reads.version;
    versions.model = reads.modelVersion || null;
    if (reads.record === null) return fallback('record_missing');
    let rec;
    try {
      rec = decodeRecord(reads.record);
    } catch {
      return fallback('record_corrupt');
    }
    const profile = profileOf(rec.flags);
    if (profile === null) return fallback('record_corrupt');

    let campaigns;
    try {
      campaigns = await within(this.d.live.campaignsOf(reads.version), left());
    } catch (e) {
      return fallback(e instanceof Timeout ? 'redis_timeout' : 'redis_error');
    }
    if (!campaigns) return fallback('no_campaigns');

    let uptake: ArrayLike<number> = rec.scores;
    let uplift: ArrayLike<number> = rec.uplift;
    const features = new Float32Array(ADJUSTER_WIDTH);
    adjusterInputInto(rec.scores, rec.uplift, ctx, features);
    let source = 'precomputed';
    const adj = this.d.live.adjuster;
    if (adj.state === 'missing') return fallback('model_missing');
    if (adj.state === 'loaded' && adj.adjuster.baseModelVersion === reads.modelVersion) {
      let out: Float32Array;
      try {
        out = await within(adj.adjuster.scorer.score(features, 1), left());
      } catch (e) {
        return fallback(e instanceof Timeout ? 'model_timeout' : 'model_error');
      }
      const s = new Float32Array(ACTIONS.length);
      const u = new Float32Array(ACTIONS.length);
      splitModelOutputs(out, 1, out.length, s, u);
      uptake = s;
      uplift = u;
      source = 'model';
      versions.adjuster = adj.adjuster.version;
    }

    const offer = decideOnlineOffer({
      userId: req.user_id,
      date,
      day,
      country: req.country,
      mcc: req.mcc ?? null,
      kycTier: profile.kycTier,
      creditEligible: profile.creditEligible,
      optoutInApp: profile.optoutInApp,
      uptake,
      uplift,
      campaigns,
      history: reads.history,
      spentUsd: reads.spentUsd,
      budgetShare: this.d.settings.budgetShare,
      policy: this.d.policy,
    });
    const logged = { features: Array.from(features), scores: Array.from(uptake), uplift: Array.from(uplift) };
    if (offer.action === 'none') return this.answer(base, { source, offer, ...logged });

    const c = campaigns.find((x) => x.campaign_id === offer.campaignId)!;
    let committed;
    try {
      committed = await within(
        this.d.store.commit(req.user_id, {
          day,
          date,
          campaignId: c.campaign_id,
          costUsd: offer.cost,
          budgetUsd: onlineDailyBudget(c, this.d.settings.budgetShare),
          perUserCap: c.per_user_cap,
          cooldownDays: c.cooldown_days,
          maxOffers7d: this.d.policy.max_offers_7d,
          minGapDays: this.d.policy.min_gap_days,
        }),
        left(),
      );
    } catch (e) {
      // The offer may or may not have been counted: counting an offer not shown is the safe side.
      this.d.breaker.failure();
      return fallback(e instanceof Timeout ? 'redis_timeout' : 'redis_error');
    }
    if (committed !== 'OK') {
      return this.answer(base, { source, offer: { ...offer, action: 'none', campaignId: null, score: 0, value: 0, cost: 0, propensity: 1, explored: false, reasons: [committed] }, ...logged });
    }
    return this.answer(base, { source, offer, ...logged });
  }

  private answer(b: Base, x: { source: string; offer?: ReturnType<typeof decideOnlineOffer>; features?: number[]; scores?: number[]; uplift?: number[] }): Decided {
    const o = x.offer;
    const action = o?.action ?? 'none';
    const answer: DecisionAnswer = {
      decision_id: b.decisionId,
      action,
      campaign_id: o?.campaignId ?? null,
      score: round6(o?.score ?? 0),
      expected_value: round6(o?.value ?? 0),
      propensity: o?.propensity ?? 1,
      source: x.source,
      reasons: o?.reasons ?? [],
      latency_ms: 0,
      versions: { ...b.versions },
    };
    const row: OnlineDecisionRow = {
      decision_id: b.decisionId,
      user_id: b.req.user_id,
      decision_ts: new Date(b.nowMs).toISOString(),
      action,
      campaign_id: answer.campaign_id ?? -1,
      propensity: answer.propensity,
      policy_version: b.versions.policy,
      surface: 'online',
      ctx_amount_usd: b.ctx.amountUsd,
      ctx_mcc: b.ctx.mcc,
      ctx_channel: b.ctx.channel,
      ctx_auth_outcome: b.ctx.authOutcome,
      request_id: b.req.request_id,
      event: b.req.event,
      source: x.source,
      score_version: b.versions.scores,
      model_version: b.versions.model,
      adjuster_version: b.versions.adjuster,
      features: x.features ?? [],
      scores: x.scores ?? [],
      uplift: x.uplift ?? [],
      expected_value: answer.expected_value,
      latency_ms: 0,
      reasons: answer.reasons,
    };
    return { answer, row };
  }
}

interface Base {
  decisionId: string;
  nowMs: number;
  ctx: PaymentContext;
  req: DecisionRequest;
  versions: DecisionAnswer['versions'];
}
