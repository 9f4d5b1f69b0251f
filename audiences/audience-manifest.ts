/**
 * The manifest of one audience on one date: the only file a reader trusts. It is written after
 * every part it lists, so a reader that finds it finds whole parts (a crashed run leaves parts
 * nobody points at, and the previous manifest stays as it was); each part carries its row count
 * and sha256, which `audiences pull` verifies before handing anything over.
 *
 * Store layout (a directory or s3://bucket/prefix):
 *   <audience>/date=<D>/manifest.json
 *   <audience>/date=<D>/run=<run>/part-00000.parquet …, delta-added.parquet, delta-removed.parquet
 *   _exposures/date=<D>/manifest.json + run=<run>/exposures.parquet   (what was sent: caps, budgets)
 */
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from '../core/errors';

export const MANIFEST_FORMAT = 'paydecide-audience/1';
export const EXPOSURES = '_exposures';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
export const partSchema = z.object({
  /** Relative to the manifest's folder. */
  file: z.string().regex(/^run=[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\.parquet$/),
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Part = z.infer<typeof partSchema>;

export const AUDIENCE_COLUMNS = [
  { name: 'user_id', type: 'VARCHAR', description: 'user id token (the world\'s pseudonymous id)' },
  { name: 'campaign_id', type: 'SMALLINT', description: 'the audience\'s campaign' },
  { name: 'action', type: 'VARCHAR', description: 'the campaign\'s action' },
  { name: 'score', type: 'FLOAT', description: 'the night\'s score of that action for the user' },
  { name: 'expected_value_usd', type: 'DOUBLE', description: 'expected incremental value of the offer (policy/offer-value.ts)' },
  { name: 'expected_cost_usd', type: 'DOUBLE', description: 'expected cost charged to the budget' },
  { name: 'propensity', type: 'DOUBLE', description: 'probability that the policy chose this offer for the user (ε-exploration)' },
  { name: 'holdout', type: 'BOOLEAN', description: 'true = selected but held out: do not send (measures incrementality)' },
  { name: 'holdout_kind', type: 'VARCHAR', description: '\'global\', \'campaign\' or \'\'' },
] as const;

export const audienceManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  audience: z.string().min(1),
  campaign_id: z.number().int().min(0),
  campaign_name: z.string(),
  action: z.string(),
  channel: z.string(),
  date: isoDate,
  run: z.string().min(1),
  rows: z.number().int().min(0),
  rows_sent: z.number().int().min(0),
  rows_holdout: z.object({ global: z.number().int().min(0), campaign: z.number().int().min(0) }),
  parts: z.array(partSchema),
  schema: z.array(z.object({ name: z.string(), type: z.string(), description: z.string() })),
  delta: z.object({
    previous_date: isoDate.nullable(),
    added: z.number().int().min(0),
    removed: z.number().int().min(0),
    parts: z.object({ added: partSchema, removed: partSchema }),
  }),
  versions: z.object({ scores: z.string(), model: z.string(), feature_set: z.string(), policy: z.string() }),
  budget: z.object({ daily_usd: z.number(), available_usd: z.number(), spent_usd: z.number() }),
  expected_value_usd: z.number(),
  /** Users excluded from this audience tonight, per reason code. */
  excluded: z.record(z.string(), z.number().int().min(0)),
  spec: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});
export type AudienceManifest = z.infer<typeof audienceManifestSchema>;

export const exposuresManifestSchema = z.object({
  date: isoDate,
  run: z.string().min(1),
  rows: z.number().int().min(0),
  parts: z.array(partSchema),
  /** Expected cost sent per campaign id that night (budgets are charged against it). */
  spent_by_campaign: z.record(z.string(), z.number()),
  audiences: z.array(z.string()),
  created_at: z.string(),
});
export type ExposuresManifest = z.infer<typeof exposuresManifestSchema>;

export function manifestKey(audience: string, date: string): string {
  return `${audience}/date=${date}/manifest.json`;
}

/** Parses a manifest's bytes; a broken one is PD_ERR_AUDIENCE_CORRUPT naming where. */
export function parseManifest<T>(schema: z.ZodType<T>, bytes: Buffer, where: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new PaydecideError(ErrorCodes.AUDIENCE_CORRUPT, `${where}: not JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new PaydecideError(ErrorCodes.AUDIENCE_CORRUPT, `${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
