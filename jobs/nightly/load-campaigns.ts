/** Reads the world's campaigns table and validates every row against the policy's campaign schema. */
import path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { campaignSchema, type Campaign } from '../../policy/campaign';
import { sqlStringList } from '../duckdb';
import { asInputError } from '../features/feature-snapshot';

export async function loadCampaigns(duck: DuckDBInstance, files: string[]): Promise<Campaign[]> {
  if (files.length === 0) throw new PaydecideError(ErrorCodes.INPUT_MISSING, 'the world has no campaigns file');
  const conn = await duck.connect();
  try {
    const r = await conn.runAndReadAll(
      `SELECT campaign_id::INTEGER AS campaign_id, name, action, channel, countries, min_kyc_tier::INTEGER AS min_kyc_tier,
              requires_credit, excluded_mccs, budget_usd::DOUBLE AS budget_usd, offer_cost_usd::DOUBLE AS offer_cost_usd,
              value_usd::DOUBLE AS value_usd, per_user_cap::INTEGER AS per_user_cap, cooldown_days::INTEGER AS cooldown_days,
              strftime(start_date, '%Y-%m-%d') AS start_date, strftime(end_date, '%Y-%m-%d') AS end_date
       FROM read_parquet(${sqlStringList(files)}) ORDER BY campaign_id`,
    );
    return r.getRowObjectsJson().map((row, i) => {
      const p = campaignSchema.safeParse(row);
      if (!p.success) {
        const issue = p.error.issues[0];
        throw new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${path.basename(files[0])} row ${i}: field ${issue.path.join('.')}: ${issue.message}`);
      }
      return p.data;
    });
  } catch (e) {
    throw asInputError(e);
  } finally {
    conn.closeSync();
  }
}
