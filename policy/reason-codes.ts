/**
 * Stable reason codes of the policy layer: why a campaign was not offered to a user. Codes are
 * part of audience manifests and online answers: never rename or reuse one.
 */
export const REASONS = {
  // compliance gates (compliance-gates.ts)
  INACTIVE: 'GATE_CAMPAIGN_INACTIVE',
  COUNTRY: 'GATE_COUNTRY',
  KYC: 'GATE_KYC_TIER',
  CREDIT: 'GATE_CREDIT_ELIGIBILITY',
  OPTOUT: 'GATE_CHANNEL_OPTOUT',
  MCC: 'GATE_MCC_EXCLUDED',
  CONSENT: 'GATE_MARKETING_CONSENT',
  // over-targeting (frequency-caps.ts, fatigue.ts)
  CAP: 'CAP_PER_USER',
  COOLDOWN: 'COOLDOWN',
  FATIGUE_WEEK: 'FATIGUE_WEEKLY_OFFERS',
  FATIGUE_GAP: 'FATIGUE_MIN_GAP',
  // value and money (action-choice.ts, budget-allocator.ts)
  BELOW_THRESHOLD: 'VALUE_BELOW_THRESHOLD',
  BUDGET: 'BUDGET_EXHAUSTED',
  OUTRANKED: 'OUTRANKED_BY_OTHER_OFFER',
  // an audience spec's own cut (audiences/audience-spec.ts)
  SEGMENT: 'AUDIENCE_SEGMENT',
  SCORE_THRESHOLD: 'AUDIENCE_SCORE_THRESHOLD',
  TOP_K: 'AUDIENCE_TOP_K',
  // measurement (holdout.ts)
  HOLDOUT_GLOBAL: 'HOLDOUT_GLOBAL',
  HOLDOUT_CAMPAIGN: 'HOLDOUT_CAMPAIGN',
  // online answers (online-offer.ts)
  NO_ELIGIBLE: 'NO_ELIGIBLE_CAMPAIGN',
  EXPLORATION: 'EXPLORATION',
  RACE_LOST: 'COUNTER_CHANGED_CONCURRENTLY',
} as const;
export type ReasonCode = (typeof REASONS)[keyof typeof REASONS];
