/**
 * An audience spec: which campaign a CRM team pulls a daily list for, through which channel,
 * for which segment, how the list is cut (a score threshold or the top k by expected value),
 * its budget and the day it is sent. Validated with zod; every error names the file and the
 * field. A spec must name a campaign of the world, use that campaign's channel, and keep its
 * budget within the campaign's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from '../core/errors';
import { CHANNELS, type Campaign } from '../policy/campaign';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

export const audienceSpecSchema = z
  .object({
    /** Audience name: a folder name under the audiences root (letters, digits, - and _). */
    audience: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, - and _ (1-64 chars)'),
    campaign_id: z.number().int().min(0).max(254),
    channel: z.enum(CHANNELS),
    /** Segment filter: users must match every field given. */
    segment: z
      .object({
        countries: z.array(z.string().length(2)).min(1).optional(),
        min_kyc_tier: z.number().int().min(0).max(3).optional(),
        /** Only users with (or without) payments in the last 30 days. */
        active_30d: z.boolean().optional(),
      })
      .strict()
      .default({}),
    /** Keep users whose score for the campaign's action is at least this … */
    score_threshold: z.number().min(0).max(1).optional(),
    /** … or the k users of highest expected incremental value. */
    top_k: z.number().int().positive().optional(),
    /** Spend cap of this audience (USD of expected cost), at most the campaign's budget. */
    budget_usd: z.number().nonnegative(),
    /** First and last day the audience is built (inclusive); absent = the campaign's dates. */
    send_from: day.optional(),
    send_to: day.optional(),
  })
  .strict()
  .refine((s) => (s.score_threshold === undefined) !== (s.top_k === undefined), { message: 'give exactly one of score_threshold and top_k', path: ['score_threshold'] })
  .refine((s) => !s.send_from || !s.send_to || s.send_from <= s.send_to, { message: 'send_from is after send_to', path: ['send_from'] });
export type AudienceSpec = z.infer<typeof audienceSpecSchema>;

/** An invalid spec (exit code 2): the message names the source and every bad field. */
function specError(message: string): PaydecideError {
  return new PaydecideError(ErrorCodes.AUDIENCE_SPEC, message, { exitCode: 2 });
}

/**
 * Validates `raw` (parsed JSON from `source`) against the schema and against the world's
 * campaigns: the campaign must exist, the channel must be the campaign's, the budget within the
 * campaign's.
 */
export function parseAudienceSpec(raw: unknown, source: string, campaigns: readonly Campaign[]): AudienceSpec {
  const r = audienceSpecSchema.safeParse(raw);
  if (!r.success) throw specError(`${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const s = r.data;
  const c = campaigns.find((x) => x.campaign_id === s.campaign_id);
  if (!c) throw specError(`${source}: campaign_id: no campaign ${s.campaign_id} in the world (${campaigns.length} campaigns)`);
  if (c.channel !== s.channel) throw specError(`${source}: channel: campaign ${c.campaign_id} (${c.name}) sends by ${c.channel}, not ${s.channel}`);
  if (s.budget_usd > c.budget_usd) throw specError(`${source}: budget_usd: ${s.budget_usd} exceeds campaign ${c.campaign_id}'s budget ${c.budget_usd}`);
  return s;
}

/** Several specs: also refuses two specs with one audience name. */
export function parseAudienceSpecs(files: readonly { source: string; raw: unknown }[], campaigns: readonly Campaign[]): AudienceSpec[] {
  const seen = new Map<string, string>();
  return files.map(({ source, raw }) => {
    const s = parseAudienceSpec(raw, source, campaigns);
    const other = seen.get(s.audience);
    if (other) throw specError(`${source}: audience: ${s.audience} is also defined in ${other}`);
    seen.set(s.audience, source);
    return s;
  });
}

/** Reads and validates every `*.json` spec of a folder (sorted by file name). */
export function loadAudienceSpecs(dir: string, campaigns: readonly Campaign[]): AudienceSpec[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch (e) {
    throw specError(`${dir}: cannot read the audience specs folder (${(e as Error).message}); set PAYDECIDE_AUDIENCE_SPECS`);
  }
  const files = names.map((f) => {
    const source = path.join(dir, f);
    try {
      return { source, raw: JSON.parse(fs.readFileSync(source, 'utf8')) as unknown };
    } catch (e) {
      throw specError(`${source}: not valid JSON (${(e as Error).message})`);
    }
  });
  return parseAudienceSpecs(files, campaigns);
}

/** Whether the spec builds an audience on `date` (its send window; the campaign's dates are a gate). */
export function sendsOn(s: AudienceSpec, date: string): boolean {
  return (!s.send_from || date >= s.send_from) && (!s.send_to || date <= s.send_to);
}
