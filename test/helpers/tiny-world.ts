/**
 * A handcrafted world slice (users, payments, decision_log, outcomes as Parquet with the world
 * schema's columns) whose feature values can be worked out by hand.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export interface TinyPayment { user: string; ts: string; amount: number; channel?: string; method?: string; outcome?: string; code?: string | null; mcc?: string; merchant?: string | null; recurring?: boolean }
export interface TinyDecision { user: string; ts: string; action: string }
export interface TinyOutcome { user: string; ts: string; goal: string; value?: number }

const q = (s: string | null | undefined) => (s === null || s === undefined ? 'NULL' : `'${s.replaceAll("'", "''")}'`);

export async function writeTinyWorld(p: { users: string[]; payments: TinyPayment[]; decisions?: TinyDecision[]; outcomes?: TinyOutcome[] }, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-tiny-'))) {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  const users = p.users
    .map((u, i) => `(${q(u)}, 0::USMALLINT, ${i % 2 ? "'GB'" : "'US'"}, 'r1', ${i % 4}::UTINYINT, ${i % 2 === 0}, DATE '2025-01-01', '25-34', 2::UTINYINT, 'ios', '5.1', 'push', 'dev_ab', 'ins_cd', false, ${i === 1}, false, false, true, true, false, false, 1, 'us'${Array.from({ length: 24 }, (_, k) => `, ${k + i}::DOUBLE`).join('')})`)
    .join(',\n');
  const attrCols = Array.from({ length: 24 }, (_, k) => `attr_${String(k).padStart(2, '0')}`).join(', ');
  await c.run(`CREATE TABLE users AS SELECT * FROM (VALUES ${users}) t(user_id, bucket, country, region, kyc_tier, credit_eligible, signup_date, age_band, income_band, os, app_version, preferred_channel, device_token, instrument_token, optout_email, optout_push, optout_sms, optout_in_app, marketing_consent, has_bank_linked, has_card_on_file, autopay_enabled, referrals_sent, residency_region, ${attrCols})`);
  const pay = p.payments.length
    ? p.payments.map((x, i) => `('p${i}', ${q(x.user)}, 0::USMALLINT, TIMESTAMP '${x.ts}', ${x.amount}::DOUBLE, ${x.amount}::DOUBLE, 'USD', ${q(x.mcc ?? '5411')}, ${q(x.merchant === undefined ? 'm1' : x.merchant)}, ${q(x.channel ?? 'merchant_checkout')}, ${q(x.method ?? 'card')}, ${q(x.outcome ?? 'approved')}, ${q(x.code ?? null)}, 'dev_ab', 'ins_cd', ${x.recurring ?? false})`).join(',\n')
    : null;
  const payCols = 'payment_id, user_id, bucket, ts, amount, amount_usd, currency, mcc, merchant_id, channel, payment_method, auth_outcome, decline_code, device_token, instrument_token, is_recurring';
  await c.run(pay ? `CREATE TABLE payments AS SELECT * FROM (VALUES ${pay}) t(${payCols})` : `CREATE TABLE payments(payment_id VARCHAR, user_id VARCHAR, bucket USMALLINT, ts TIMESTAMP, amount DOUBLE, amount_usd DOUBLE, currency VARCHAR, mcc VARCHAR, merchant_id VARCHAR, channel VARCHAR, payment_method VARCHAR, auth_outcome VARCHAR, decline_code VARCHAR, device_token VARCHAR, instrument_token VARCHAR, is_recurring BOOLEAN)`);
  await c.run(`CREATE TABLE decision_log(decision_id VARCHAR, user_id VARCHAR, bucket USMALLINT, decision_ts TIMESTAMP, action VARCHAR, campaign_id SMALLINT, propensity DOUBLE, policy_version VARCHAR, surface VARCHAR, ctx_amount_usd DOUBLE, ctx_mcc VARCHAR, ctx_channel VARCHAR, ctx_auth_outcome VARCHAR)`);
  for (const [i, d] of (p.decisions ?? []).entries()) await c.run(`INSERT INTO decision_log VALUES ('d${i}', ${q(d.user)}, 0, TIMESTAMP '${d.ts}', ${q(d.action)}, 1, 0.5, 'v0', 'online', 10, '5411', 'merchant_checkout', 'approved')`);
  await c.run(`CREATE TABLE outcomes(user_id VARCHAR, bucket USMALLINT, goal VARCHAR, event_ts TIMESTAMP, value_usd DOUBLE, decision_id VARCHAR)`);
  for (const o of p.outcomes ?? []) await c.run(`INSERT INTO outcomes VALUES (${q(o.user)}, 0, ${q(o.goal)}, TIMESTAMP '${o.ts}', ${o.value ?? 5}, NULL)`);
  const files: Record<string, string> = {};
  for (const t of ['users', 'payments', 'decision_log', 'outcomes']) {
    files[t] = path.join(dir, `${t}.parquet`);
    await c.run(`COPY ${t} TO '${files[t]}' (FORMAT parquet)`);
  }
  c.closeSync();
  inst.closeSync();
  return { dir, files: { users: [files.users], payments: [files.payments], decisions: [files.decision_log], outcomes: [files.outcomes] } };
}
