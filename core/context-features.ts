/**
 * The fresh payment-context features of the online adjuster, and the adjuster's input vector.
 * One definition for both paths: the service builds the vector from the request at decision
 * time and logs it with the decision; training builds it from the decision log's `ctx_*`
 * columns with this same function (the world's log and the service's log carry the same
 * columns), so training sees exactly what serving saw. Pure.
 *
 * Only context the decision log records is a feature (amount in USD, MCC, channel, auth outcome,
 * hour of the decision): a feature that serving has but the log lacks (payment method, say)
 * would be a default at training time and a real value at serving time, which is skew.
 */
import { ACTIONS, OFFER_ACTIONS } from './actions';

export const PAYMENT_CHANNELS = ['p2p', 'bill_pay', 'merchant_checkout'] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];

/** A decision's payment context as the decision log records it (NULLs when there was none). */
export interface PaymentContext {
  amountUsd: number | null;
  /** Four-digit merchant category code. */
  mcc: string | null;
  channel: string | null;
  authOutcome: string | null;
  /** Hour of the decision, UTC, 0..23. */
  hourUtc: number;
}

export const CONTEXT_FEATURES: readonly string[] = Object.freeze([
  'ctx_has_payment',
  'ctx_amount_log_usd',
  'ctx_mcc',
  ...PAYMENT_CHANNELS.map((c) => `ctx_channel_${c}`),
  'ctx_declined',
  'ctx_hour_utc',
]);

/** A decision-log row's context columns (world log or the service's log alike). */
export interface LoggedContext {
  ctx_amount_usd: number | null;
  ctx_mcc: string | null;
  ctx_channel: string | null;
  ctx_auth_outcome: string | null;
  /** decision_ts as epoch milliseconds (UTC). */
  decision_ms: number;
}

/** The context of a logged decision: what training reads where serving read the request. */
export function contextFromLog(r: LoggedContext): PaymentContext {
  return { amountUsd: r.ctx_amount_usd, mcc: r.ctx_mcc, channel: r.ctx_channel, authOutcome: r.ctx_auth_outcome, hourUtc: new Date(r.decision_ms).getUTCHours() };
}

/** Adjuster inputs: the precomputed uptake and base rate per offer action, then the context. */
export const ADJUSTER_FEATURES: readonly string[] = Object.freeze([
  ...OFFER_ACTIONS.map((a) => `pre_uptake_${a}`),
  ...OFFER_ACTIONS.map((a) => `pre_base_${a}`),
  ...CONTEXT_FEATURES,
]);
export const ADJUSTER_WIDTH = ADJUSTER_FEATURES.length;

/** Writes the context features at `out[offset..offset + CONTEXT_FEATURES.length)`. */
export function contextFeaturesInto(ctx: PaymentContext, out: Float32Array, offset = 0): void {
  const has = ctx.amountUsd !== null && Number.isFinite(ctx.amountUsd);
  out[offset] = has ? 1 : 0;
  out[offset + 1] = has ? Math.log1p(Math.max(0, ctx.amountUsd!)) : 0;
  const mcc = ctx.mcc !== null && /^\d{4}$/.test(ctx.mcc) ? Number(ctx.mcc) : -1;
  out[offset + 2] = mcc;
  for (let c = 0; c < PAYMENT_CHANNELS.length; c++) out[offset + 3 + c] = ctx.channel === PAYMENT_CHANNELS[c] ? 1 : 0;
  out[offset + 3 + PAYMENT_CHANNELS.length] = ctx.authOutcome === 'declined' ? 1 : 0;
  out[offset + 4 + PAYMENT_CHANNELS.length] = Number.isInteger(ctx.hourUtc) && ctx.hourUtc >= 0 && ctx.hourUtc < 24 ? ctx.hourUtc : 0;
}

const NONE = ACTIONS.indexOf('none');

/**
 * Writes one adjuster input row at `out[offset..offset + ADJUSTER_WIDTH)`. `uptake` and `uplift`
 * are in `ACTIONS` order (six entries, `none` ignored), as a score record decodes them; the base
 * rate is uptake − uplift, clamped to [0, 1].
 */
export function adjusterInputInto(uptake: ArrayLike<number>, uplift: ArrayLike<number>, ctx: PaymentContext, out: Float32Array, offset = 0): void {
  let k = 0;
  for (let a = 0; a < ACTIONS.length; a++) if (a !== NONE) out[offset + k++] = uptake[a];
  for (let a = 0; a < ACTIONS.length; a++) {
    if (a === NONE) continue;
    const b = uptake[a] - uplift[a];
    out[offset + k++] = b < 0 ? 0 : b > 1 ? 1 : b;
  }
  contextFeaturesInto(ctx, out, offset + k);
}
