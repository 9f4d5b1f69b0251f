/**
 * The online decision log and outcome events: what the service appends to Redis streams and
 * what `paydecide sink` writes to Parquet. One schema each, shared by both sides.
 *
 * | stream key | field | value |
 * |---|---|---|
 * | `P:stream:decisions` | `j` | JSON of {@link OnlineDecisionRow} |
 * | `P:stream:outcomes` | `j` | JSON of {@link OutcomeEventRow} |
 *
 * Both streams are capped (XADD MAXLEN ~ N): Redis memory stays bounded if the sink stops, at
 * the price of the oldest entries beyond N; the sink's lag is exported so that is visible.
 * The Parquet decision log keeps the world's `decision_log` columns first (docs/world-schema.md),
 * so `dataset build --decisions` reads the service's log like the world's, then the online
 * extras (adjuster input vector, scores, versions, latency).
 */
import { z } from 'zod';
import { ACTIONS, OFFER_ACTIONS } from './actions';

export const DECISION_STREAM = 'stream:decisions';
export const OUTCOME_STREAM = 'stream:outcomes';
/** The one field of every stream entry. */
export const STREAM_FIELD = 'j';

const finite = z.number().finite();

export const onlineDecisionRowSchema = z.object({
  decision_id: z.string().min(1).max(128),
  user_id: z.string().min(1).max(128),
  /** ISO 8601 UTC, millisecond precision. */
  decision_ts: z.iso.datetime(),
  action: z.enum(ACTIONS as unknown as [string, ...string[]]),
  /** -1 for `none`. */
  campaign_id: z.number().int().min(-1).max(254),
  propensity: finite.min(0).max(1),
  policy_version: z.string(),
  surface: z.literal('online'),
  ctx_amount_usd: finite.nullable(),
  ctx_mcc: z.string().nullable(),
  ctx_channel: z.string().nullable(),
  ctx_auth_outcome: z.string().nullable(),
  // online extras
  request_id: z.string().max(128),
  event: z.string().max(64),
  source: z.string().max(64),
  score_version: z.string().nullable(),
  model_version: z.string().nullable(),
  adjuster_version: z.string().nullable(),
  /** The adjuster's input vector (core/context-features ADJUSTER_FEATURES), empty on a fallback. */
  features: z.array(finite),
  /** Uptake per action (ACTIONS order) used by the policy, after adjustment; empty on a fallback. */
  scores: z.array(finite),
  /** Uplift per action (ACTIONS order) used by the policy; empty on a fallback. */
  uplift: z.array(finite),
  expected_value: finite,
  latency_ms: finite.min(0),
  reasons: z.array(z.string()),
});
export type OnlineDecisionRow = z.infer<typeof onlineDecisionRowSchema>;

export const outcomeEventRowSchema = z.object({
  /** Unique per event (the caller's id or one the service made): the sink de-duplicates on it. */
  event_id: z.string().min(1).max(128),
  user_id: z.string().min(1).max(128),
  /** The offer action whose goal this is. */
  goal: z.enum(OFFER_ACTIONS as unknown as [string, ...string[]]),
  event_ts: z.iso.datetime(),
  value_usd: finite.min(0),
  /** The decision it follows, when the caller knows it (audit only; labels do not rely on it). */
  decision_id: z.string().max(128).nullable(),
});
export type OutcomeEventRow = z.infer<typeof outcomeEventRowSchema>;
