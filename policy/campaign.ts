/** A live campaign as the policy layer sees it (the world's campaigns table, validated). */
import { z } from 'zod';
import { OFFER_ACTIONS } from '../core/actions';

export const CHANNELS = ['email', 'push', 'sms', 'in_app'] as const;
export type Channel = (typeof CHANNELS)[number];
/** Channels that reach a user outside the app: they need marketing consent (in-app messages do not). */
export const MARKETING_CHANNELS: ReadonlySet<Channel> = new Set(['email', 'push', 'sms']);

export const campaignSchema = z.object({
  campaign_id: z.number().int().min(0).max(254),
  name: z.string().min(1),
  action: z.enum(OFFER_ACTIONS as [string, ...string[]]),
  channel: z.enum(CHANNELS),
  countries: z.array(z.string().length(2)).min(1),
  min_kyc_tier: z.number().int().min(0).max(3),
  requires_credit: z.boolean(),
  excluded_mccs: z.array(z.string().regex(/^\d{4}$/)),
  budget_usd: z.number().nonnegative(),
  offer_cost_usd: z.number().nonnegative(),
  value_usd: z.number().nonnegative(),
  per_user_cap: z.number().int().min(0),
  cooldown_days: z.number().int().min(0),
  start_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  end_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});
export type Campaign = z.infer<typeof campaignSchema>;

/** What the gates need to know about a user (from the users table, or the online request). */
export interface GateSubject {
  country: string;
  kycTier: number;
  creditEligible: boolean;
  optouts: Record<Channel, boolean>;
  /** Marketing consent; checked for MARKETING_CHANNELS when known (CRM audiences), not online. */
  marketingConsent?: boolean;
}
