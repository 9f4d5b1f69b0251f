/**
 * What tonight's audiences are selected from, read with DuckDB: every scored user of the
 * night's snapshot (its `score_<action>` and `uplift_<action>` columns) joined to the world's users table for the gate
 * attributes, ordered by user id (so the selection never depends on file order); and each
 * user's exposure history over the cap window from the decision log plus the exposures the
 * audience store recorded for earlier nights.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ACTIONS } from '../../core/actions';
import { addDays } from '../../core/dates';
import type { ExposureHistory, SelectionUsers } from '../../audiences/audience-selection';
import type { UserExposure } from '../../policy/fatigue';
import { CAP_WINDOW_DAYS, type CampaignHistory } from '../../policy/frequency-caps';
import { forEachChunk, numericColumn, uint8Column } from '../duckdb-vectors';
import { quoteIdent, runWithParams, sqlString, sqlStringList } from '../duckdb';
import { asInputError } from '../features/feature-snapshot';

/** Creates temp table `aud_users` (idx 0..n-1 in user id order) and reads it into arrays. */
export async function readSelectionUsers(conn: DuckDBConnection, snapshotGlob: string, userFiles: string[]): Promise<SelectionUsers> {
  const scoreCols = [...ACTIONS.map((a) => `s.${quoteIdent(`score_${a}`)}`), ...ACTIONS.map((a) => `s.${quoteIdent(`uplift_${a}`)}`)].join(', ');
  try {
    await conn.run(`
      CREATE OR REPLACE TEMP TABLE aud_users AS
      SELECT (row_number() OVER (ORDER BY s.user_id) - 1)::UINTEGER AS idx, s.user_id,
             u.country, u.kyc_tier::UTINYINT AS kyc_tier, u.credit_eligible::UTINYINT AS credit_eligible,
             (u.optout_email::UTINYINT + 2 * u.optout_push::UTINYINT + 4 * u.optout_sms::UTINYINT + 8 * u.optout_in_app::UTINYINT)::UTINYINT AS optout_bits,
             u.marketing_consent::UTINYINT AS marketing_consent,
             (s.days_since_last_payment < 30)::UTINYINT AS active_30d,
             ${scoreCols}
      FROM read_parquet(${sqlString(snapshotGlob)}) s
      JOIN read_parquet(${sqlStringList(userFiles)}) u USING (user_id)`);
    const n = Number((await conn.runAndReadAll('SELECT count(*)::BIGINT FROM aud_users')).getRows()[0][0]);
    const H = ACTIONS.length;
    const userIds = new Array<string>(n);
    const country = new Array<string>(n);
    const u: SelectionUsers = {
      n,
      userIds,
      country,
      kycTier: new Uint8Array(n),
      creditEligible: new Uint8Array(n),
      optoutBits: new Uint8Array(n),
      marketingConsent: new Uint8Array(n),
      active30d: new Uint8Array(n),
      scores: new Float32Array(n * H),
      uplift: new Float32Array(n * H),
    };
    const upl = u.uplift!;
    const res = await conn.stream(`SELECT user_id, country, kyc_tier, credit_eligible, optout_bits, marketing_consent, active_30d, ${[...ACTIONS.map((a) => quoteIdent(`score_${a}`)), ...ACTIONS.map((a) => quoteIdent(`uplift_${a}`))].join(', ')} FROM aud_users ORDER BY idx`);
    let off = 0;
    await forEachChunk(res, (c) => {
      const k = c.rowCount;
      const ids = c.getColumnValues(0) as string[];
      const ctry = c.getColumnValues(1) as string[];
      for (let i = 0; i < k; i++) {
        userIds[off + i] = ids[i];
        country[off + i] = ctry[i];
      }
      u.kycTier.set(uint8Column(c, 2), off);
      u.creditEligible.set(uint8Column(c, 3), off);
      u.optoutBits.set(uint8Column(c, 4), off);
      u.marketingConsent.set(uint8Column(c, 5), off);
      u.active30d.set(uint8Column(c, 6), off);
      for (let h = 0; h < H; h++) {
        const col = numericColumn(c, 7 + h);
        for (let i = 0; i < k; i++) u.scores[(off + i) * H + h] = col[i];
        const ucol = numericColumn(c, 7 + H + h);
        for (let i = 0; i < k; i++) upl[(off + i) * H + h] = ucol[i];
      }
      off += k;
    });
    return u;
  } catch (e) {
    throw asInputError(e);
  }
}

/**
 * Exposure history before `date` (the send day) over `windowDays` (≥ the 30-day cap window;
 * longer when a cooldown is): offers (action ≠ none) in the decision log, plus sent audience
 * rows of earlier nights (`ledgerFiles`: Parquet with user_id, campaign_id, date). Needs temp
 * table aud_users; users are keyed by its idx.
 */
export async function readExposureHistory(conn: DuckDBConnection, decisionFiles: string[], ledgerFiles: string[], date: string, windowDays: number): Promise<ExposureHistory> {
  const ledger = ledgerFiles.length
    ? `UNION ALL SELECT user_id, campaign_id::INTEGER AS campaign_id, date AS day FROM read_parquet(${sqlStringList(ledgerFiles)}) WHERE date >= $from::DATE AND date < $to::DATE`
    : '';
  const decisions = decisionFiles.length
    ? `SELECT user_id, campaign_id::INTEGER AS campaign_id, decision_ts::DATE AS day FROM read_parquet(${sqlStringList(decisionFiles)})
       WHERE action <> 'none' AND decision_ts >= $from::TIMESTAMP AND decision_ts < $to::TIMESTAMP`
    : `SELECT NULL::VARCHAR AS user_id, NULL::INTEGER AS campaign_id, NULL::DATE AS day WHERE false`;
  const user = new Map<number, UserExposure>();
  const campaign = new Map<number, Map<number, CampaignHistory>>();
  try {
    await runWithParams(
      conn,
      `CREATE OR REPLACE TEMP TABLE aud_history AS
       SELECT a.idx, h.campaign_id,
              count(*) FILTER (WHERE h.day >= $cap_from::DATE)::INTEGER AS n30,
              count(*) FILTER (WHERE h.day >= $week_from::DATE)::INTEGER AS n7,
              (max(h.day) - DATE '1970-01-01')::INTEGER AS last_day
       FROM (${decisions} ${ledger}) h JOIN aud_users a USING (user_id)
       GROUP BY a.idx, h.campaign_id`,
      { from: addDays(date, -Math.max(CAP_WINDOW_DAYS, windowDays)), to: date, cap_from: addDays(date, -CAP_WINDOW_DAYS), week_from: addDays(date, -7) },
    );
    const res = await conn.stream(`SELECT idx, campaign_id, n30, n7, last_day FROM aud_history`);
    await forEachChunk(res, (c) => {
      const idx = numericColumn(c, 0), cid = numericColumn(c, 1), n30 = numericColumn(c, 2), n7 = numericColumn(c, 3), last = numericColumn(c, 4);
      for (let i = 0; i < c.rowCount; i++) {
        const u = idx[i];
        let m = campaign.get(u);
        if (!m) campaign.set(u, (m = new Map()));
        m.set(cid[i], { offers30d: n30[i], lastOfferDay: last[i] });
        const e = user.get(u);
        if (e) {
          e.offers7d += n7[i];
          e.lastOfferDay = Math.max(e.lastOfferDay ?? -Infinity, last[i]);
        } else user.set(u, { offers7d: n7[i], lastOfferDay: last[i] });
      }
    });
  } catch (e) {
    throw asInputError(e);
  }
  return { user, campaign };
}
