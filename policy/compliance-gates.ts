/**
 * Compliance gates: hard rules a campaign must pass for a user before any model ranks it.
 * Each failing gate gives a stable reason code. Pure: no I/O.
 */
import { MARKETING_CHANNELS, type Campaign, type GateSubject } from './campaign';
import { REASONS } from './reason-codes';

export const GATE_REASONS = {
  INACTIVE: REASONS.INACTIVE,
  COUNTRY: REASONS.COUNTRY,
  KYC: REASONS.KYC,
  CREDIT: REASONS.CREDIT,
  OPTOUT: REASONS.OPTOUT,
  MCC: REASONS.MCC,
  CONSENT: REASONS.CONSENT,
} as const;
export type GateReason = (typeof GATE_REASONS)[keyof typeof GATE_REASONS];

/** Reasons the campaign is closed to the subject on `date` (empty = eligible). `mcc` is the payment's, online only. */
export function failedGates(c: Campaign, s: GateSubject, date: string, mcc?: string): GateReason[] {
  const out: GateReason[] = [];
  if (date < c.start_date || date > c.end_date) out.push(GATE_REASONS.INACTIVE);
  if (!c.countries.includes(s.country)) out.push(GATE_REASONS.COUNTRY);
  if (s.kycTier < c.min_kyc_tier) out.push(GATE_REASONS.KYC);
  if (c.requires_credit && !s.creditEligible) out.push(GATE_REASONS.CREDIT);
  if (s.optouts[c.channel]) out.push(GATE_REASONS.OPTOUT);
  if (mcc !== undefined && c.excluded_mccs.includes(mcc)) out.push(GATE_REASONS.MCC);
  if (s.marketingConsent === false && MARKETING_CHANNELS.has(c.channel)) out.push(GATE_REASONS.CONSENT);
  return out;
}

export function passesGates(c: Campaign, s: GateSubject, date: string, mcc?: string): boolean {
  return failedGates(c, s, date, mcc).length === 0;
}
