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

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses window overrides such as `cashback=14d,card_on_file=2h` (units s, m, h, d) over the
 * defaults above; throws an Error naming the bad entry. Windows run from 1 minute to 90 days.
 */
export function parseAttributionWindows(text: string): Record<Action, number> {
  const out = { ...ATTRIBUTION_WINDOW_SECONDS } as Record<Action, number>;
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([a-z_]+)\s*=\s*(\d+)\s*([smhd])$/.exec(item);
    if (!m) throw new Error(`'${item}' is not <action>=<number><s|m|h|d>`);
    if (!(m[1] in out)) throw new Error(`'${m[1]}' is not an action (${Object.keys(out).join(', ')})`);
    const secs = Number(m[2]) * UNIT_SECONDS[m[3]];
    if (secs < 60 || secs > 90 * 86400) throw new Error(`window of ${m[1]} must be between 1m and 90d, got ${m[2]}${m[3]}`);
    out[m[1] as Action] = secs;
  }
  return out;
}
