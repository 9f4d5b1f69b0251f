/**
 * Attribution windows: how long after a decision a goal event still counts for it, per action.
 * A decision's label is known ("matured") only once decision_ts + window < as-of date.
 * `none` decisions are labelled by any goal event within the `none` window (baseline activity).
 */
import type { Action } from './actions';

export const ATTRIBUTION_WINDOW_SECONDS: Readonly<Record<Action, number>> = Object.freeze({
  card_on_file: 3600, // in-session
  installment_offer: 3600, // in-session
  cashback: 7 * 86400,
  referral_prompt: 30 * 86400,
  autopay_setup: 30 * 86400,
  none: 7 * 86400,
});
