/**
 * The feature registry: the one list of serving features, in model-input order, used by the
 * batch feature SQL, training, scoring and (later) the online adjuster. Adding a feature here
 * changes `FEATURE_SET_HASH`, which models record so a model trained on another list is refused.
 */
import { createHash } from 'node:crypto';

export type FeatureSource = 'users' | 'payments' | 'decision_log' | 'outcomes';
export interface FeatureDef {
  name: string;
  type: 'float' | 'int' | 'bool';
  /** Value used when the source has no row for the user (SQL COALESCE and online default). */
  default: number;
  description: string;
  source: FeatureSource;
  /** True when the online path recomputes it from the payment context (fresh) instead of the nightly value. */
  fresh: boolean;
}

/** Disjoint time tiles before the as-of date; window w covers tiles 0..maxTile (nested windows). */
export const WINDOWS = [
  { name: '1d', days: 1, maxTile: 0 },
  { name: '7d', days: 7, maxTile: 1 },
  { name: '30d', days: 30, maxTile: 2 },
  { name: '90d', days: 90, maxTile: 3 },
] as const;

/**
 * Per-tile payment aggregates (sql/features/payment-aggregates.sql) and how a window combines
 * its tiles: `sum` adds them, `max` is the window maximum, `days` counts active days. `cents`
 * aggregates are summed in integer cents (exact under the incremental night's add-and-expire)
 * and divided by 100 for the feature.
 */
export const TILE_AGGREGATES: { col: string; agg: 'sum' | 'max' | 'days'; type: 'float' | 'int'; cents?: true; description: string }[] = [
  { col: 'pay_cnt', agg: 'sum', type: 'int', description: 'payment attempts' },
  { col: 'pay_amt', agg: 'sum', type: 'float', cents: true, description: 'amount in USD of payment attempts' },
  { col: 'pay_amt_max', agg: 'max', type: 'float', cents: true, description: 'largest payment in USD' },
  { col: 'approved_cnt', agg: 'sum', type: 'int', description: 'approved payments' },
  { col: 'declined_cnt', agg: 'sum', type: 'int', description: 'declined payments' },
  { col: 'nsf_decline_cnt', agg: 'sum', type: 'int', description: 'declines for insufficient funds (code 51)' },
  { col: 'p2p_cnt', agg: 'sum', type: 'int', description: 'P2P transfers' },
  { col: 'billpay_cnt', agg: 'sum', type: 'int', description: 'bill payments' },
  { col: 'merchant_cnt', agg: 'sum', type: 'int', description: 'merchant checkouts' },
  { col: 'p2p_amt', agg: 'sum', type: 'float', cents: true, description: 'P2P amount in USD' },
  { col: 'billpay_amt', agg: 'sum', type: 'float', cents: true, description: 'bill pay amount in USD' },
  { col: 'merchant_amt', agg: 'sum', type: 'float', cents: true, description: 'merchant checkout amount in USD' },
  { col: 'card_cnt', agg: 'sum', type: 'int', description: 'payments by card' },
  { col: 'bank_cnt', agg: 'sum', type: 'int', description: 'payments by bank transfer' },
  { col: 'wallet_cnt', agg: 'sum', type: 'int', description: 'payments by wallet' },
  { col: 'bnpl_cnt', agg: 'sum', type: 'int', description: 'payments by buy-now-pay-later' },
  { col: 'recurring_cnt', agg: 'sum', type: 'int', description: 'recurring payments' },
  { col: 'mcc_grocery_cnt', agg: 'sum', type: 'int', description: 'grocery payments (MCC 5411)' },
  { col: 'mcc_dining_cnt', agg: 'sum', type: 'int', description: 'restaurant payments (MCC 5812)' },
  { col: 'mcc_fuel_cnt', agg: 'sum', type: 'int', description: 'fuel payments (MCC 5541)' },
  { col: 'mcc_utility_cnt', agg: 'sum', type: 'int', description: 'utility and telecom payments (MCC 4900, 4814)' },
  { col: 'mcc_travel_cnt', agg: 'sum', type: 'int', description: 'travel and rides (MCC 4511, 7011, 4121)' },
  { col: 'mcc_retail_cnt', agg: 'sum', type: 'int', description: 'retail (MCC 5311, 5732, 5999, 5691, 5942, 5912)' },
  { col: 'mcc_risky_cnt', agg: 'sum', type: 'int', description: 'gambling and quasi-cash (MCC 7995, 6051)' },
  { col: 'large_cnt', agg: 'sum', type: 'int', description: 'payments of USD 200 or more' },
  { col: 'small_cnt', agg: 'sum', type: 'int', description: 'payments under USD 10' },
  { col: 'active_days', agg: 'days', type: 'int', description: 'days with at least one payment' },
];

/** Ratios per window, from the window's sums (0 when the denominator is 0). */
export const WINDOW_RATIOS: { name: string; num: string; den: string; description: string }[] = [
  { name: 'decline_rate', num: 'declined_cnt', den: 'pay_cnt', description: 'share of attempts declined' },
  { name: 'avg_amt', num: 'pay_amt', den: 'pay_cnt', description: 'mean payment in USD' },
  { name: 'p2p_share', num: 'p2p_cnt', den: 'pay_cnt', description: 'share of P2P transfers' },
  { name: 'billpay_share', num: 'billpay_cnt', den: 'pay_cnt', description: 'share of bill payments' },
  { name: 'merchant_share', num: 'merchant_cnt', den: 'pay_cnt', description: 'share of merchant checkouts' },
  { name: 'card_share', num: 'card_cnt', den: 'pay_cnt', description: 'share paid by card' },
  { name: 'bnpl_share', num: 'bnpl_cnt', den: 'pay_cnt', description: 'share paid by BNPL' },
];

const STATIC: FeatureDef[] = [
  { name: 'kyc_tier', type: 'int', default: 0, description: 'KYC tier 0..3', source: 'users', fresh: false },
  { name: 'credit_eligible', type: 'bool', default: 0, description: 'eligible for credit products', source: 'users', fresh: false },
  { name: 'account_age_days', type: 'int', default: 0, description: 'days since signup', source: 'users', fresh: false },
  { name: 'income_band', type: 'int', default: 0, description: 'income band 0..4', source: 'users', fresh: false },
  { name: 'age_band_ord', type: 'int', default: 0, description: 'age band as ordinal 0..5', source: 'users', fresh: false },
  { name: 'is_ios', type: 'bool', default: 0, description: 'primary device runs iOS', source: 'users', fresh: false },
  { name: 'country_us', type: 'bool', default: 0, description: 'country is US', source: 'users', fresh: false },
  { name: 'marketing_consent', type: 'bool', default: 0, description: 'gave marketing consent', source: 'users', fresh: false },
  { name: 'optout_count', type: 'int', default: 0, description: 'channels opted out of (0..4)', source: 'users', fresh: false },
  { name: 'has_bank_linked', type: 'bool', default: 0, description: 'bank account linked', source: 'users', fresh: false },
  { name: 'has_card_on_file', type: 'bool', default: 0, description: 'card saved', source: 'users', fresh: false },
  { name: 'autopay_enabled', type: 'bool', default: 0, description: 'autopay on', source: 'users', fresh: false },
  { name: 'referrals_sent', type: 'int', default: 0, description: 'referrals sent so far', source: 'users', fresh: false },
  ...Array.from({ length: 24 }, (_, i): FeatureDef => ({
    name: `attr_${String(i).padStart(2, '0')}`, type: 'float', default: 0, description: `raw profile attribute ${i}`, source: 'users', fresh: false,
  })),
];

function windowFeatures(): FeatureDef[] {
  const out: FeatureDef[] = [];
  for (const w of WINDOWS) {
    const fresh = w.name === '1d';
    for (const a of TILE_AGGREGATES) {
      out.push({ name: `${a.col}_${w.name}`, type: a.type, default: 0, description: `${a.description}, last ${w.days} day(s)`, source: 'payments', fresh });
    }
    out.push({ name: `distinct_merchants_${w.name}`, type: 'int', default: 0, description: `distinct merchants, last ${w.days} day(s)`, source: 'payments', fresh });
    for (const r of WINDOW_RATIOS) {
      out.push({ name: `${r.name}_${w.name}`, type: 'float', default: 0, description: `${r.description}, last ${w.days} day(s)`, source: 'payments', fresh });
    }
  }
  return out;
}

const RECENCY: FeatureDef[] = [
  { name: 'days_since_last_payment', type: 'float', default: 91, description: 'days since the last payment attempt (91 = none in 90 days)', source: 'payments', fresh: true },
  { name: 'days_since_last_decline', type: 'float', default: 91, description: 'days since the last decline', source: 'payments', fresh: true },
  { name: 'days_since_last_merchant', type: 'float', default: 91, description: 'days since the last merchant checkout', source: 'payments', fresh: true },
  { name: 'days_since_first_payment', type: 'int', default: 0, description: 'whole days from the first day with a payment in the 90-day window to the as-of date (1 = yesterday)', source: 'payments', fresh: false },
];

/**
 * The recency facts behind the "days since the last …" features, as timestamps in microseconds
 * since the epoch (sql/features/payment-aggregates.sql): the latest such payment in the 90-day
 * window; the feature is the days from it to the as-of date. (`days_since_first_payment` counts
 * whole days from the active-day mask: a first payment that leaves the window is replaced by the
 * next active day without reading payments again.)
 */
export const PAYMENT_RECENCY: { feature: string; col: string }[] = [
  { feature: 'days_since_last_payment', col: 'last_pay_us' },
  { feature: 'days_since_last_decline', col: 'last_decline_us' },
  { feature: 'days_since_last_merchant', col: 'last_merchant_us' },
];
export const FIRST_PAYMENT_FEATURE = 'days_since_first_payment';

const EXPOSURE: FeatureDef[] = [
  { name: 'offers_7d', type: 'int', default: 0, description: 'offers shown (any campaign), last 7 days', source: 'decision_log', fresh: true },
  { name: 'offers_30d', type: 'int', default: 0, description: 'offers shown (any campaign), last 30 days', source: 'decision_log', fresh: false },
  ...(['cashback', 'referral_prompt', 'autopay_setup', 'card_on_file', 'installment_offer'] as const).map((a): FeatureDef => ({
    name: `offers_${a}_30d`, type: 'int', default: 0, description: `${a} offers shown, last 30 days`, source: 'decision_log', fresh: false,
  })),
  { name: 'days_since_last_offer', type: 'float', default: 61, description: 'days since the last offer (61 = none in the log window)', source: 'decision_log', fresh: true },
  { name: 'goal_events_30d', type: 'int', default: 0, description: 'goal events (conversions of any kind), last 30 days', source: 'outcomes', fresh: false },
  { name: 'goal_value_30d', type: 'float', default: 0, description: 'value in USD of goal events, last 30 days', source: 'outcomes', fresh: false },
];

export const FEATURES: readonly FeatureDef[] = Object.freeze([...STATIC, ...windowFeatures(), ...RECENCY, ...EXPOSURE]);
export const FEATURE_NAMES: readonly string[] = Object.freeze(FEATURES.map((f) => f.name));
export const FEATURE_COUNT = FEATURES.length;
export const FEATURE_SET_HASH = createHash('sha256').update(FEATURES.map((f) => `${f.name}:${f.type}:${f.default}`).join('\n')).digest('hex').slice(0, 16);

export function featureIndex(name: string): number {
  const i = FEATURE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`unknown feature ${name}`);
  return i;
}
