/**
 * The tiled path (per-tile partials in SQL, windows assembled in core/feature-assembly.ts) must
 * equal a direct per-window computation over raw payments on a generated world: the reference
 * below aggregates each window straight from the payments with FILTER clauses, the slow
 * obvious way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { FEATURE_COUNT, featureIndex, WINDOWS } from '../../core/feature-registry';
import { computeSnapshot, type FeatureMatrix } from '../../jobs/features/feature-snapshot';
import { sqlStringList } from '../../jobs/duckdb';
import { generateWorld, readWorldManifest, worldFiles } from '../../jobs/world';

const AS_OF = '2026-06-20';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-assembly-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let m: FeatureMatrix;
let reference: Map<string, Record<string, number>>;

beforeAll(async () => {
  await generateWorld({ out: tmp, users: 2000, days: 90, date: '2026-06-30', seed: 11, buckets: 4, duck: { threads: 2, memory: '2GB' } });
  const world = readWorldManifest(tmp);
  const files = {
    users: worldFiles(tmp, world, 'users'),
    payments: worldFiles(tmp, world, 'payments'),
    decisions: worldFiles(tmp, world, 'decision_log'),
    outcomes: worldFiles(tmp, world, 'outcomes'),
  };
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    m = await computeSnapshot(conn, files, AS_OF, { slots: 64 });
    const cols = WINDOWS.map((w) => {
      const f = `FILTER (WHERE ts >= TIMESTAMP '${AS_OF}' - INTERVAL ${w.days} DAY)`;
      return [
        `count(*) ${f} AS pay_cnt_${w.name}`,
        `coalesce(sum(amount_usd) ${f}, 0) AS pay_amt_${w.name}`,
        `coalesce(max(amount_usd) ${f}, 0) AS pay_amt_max_${w.name}`,
        `count(*) ${f.replace('WHERE', "WHERE auth_outcome = 'declined' AND")} AS declined_cnt_${w.name}`,
        `count(*) ${f.replace('WHERE', "WHERE channel = 'merchant_checkout' AND")} AS merchant_cnt_${w.name}`,
        `count(DISTINCT ts::DATE) ${f} AS active_days_${w.name}`,
        `count(DISTINCT merchant_id) ${f} AS distinct_merchants_${w.name}`,
      ].join(', ');
    });
    const res = await conn.runAndReadAll(
      `SELECT user_id, ${cols.join(', ')},
              epoch(TIMESTAMP '${AS_OF}' - max(ts)) / 86400.0 AS days_since_last_payment,
              date_diff('day', min(ts)::DATE, DATE '${AS_OF}') AS days_since_first_payment
       FROM read_parquet(${sqlStringList(files.payments)})
       WHERE ts >= TIMESTAMP '${AS_OF}' - INTERVAL 90 DAY AND ts < TIMESTAMP '${AS_OF}'
       GROUP BY user_id`,
    );
    reference = new Map(res.getRowObjectsJS().map((r) => [String(r.user_id), Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'user_id').map(([k, v]) => [k, Number(v)]))]));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}, 120_000);

describe('tiled feature assembly', () => {
  it('equals a direct per-window aggregation over raw payments for every user', () => {
    expect(reference.size).toBeGreaterThan(1000);
    let checked = 0;
    for (let i = 0; i < m.n; i++) {
      const want = reference.get(m.userIds[i]);
      if (!want) continue;
      for (const [name, v] of Object.entries(want)) {
        const got = m.x[i * FEATURE_COUNT + featureIndex(name)];
        const tol = Math.max(1e-3, Math.abs(v) * 1e-5);
        if (Math.abs(got - v) > tol) throw new Error(`user ${m.userIds[i]} ${name}: tiled ${got}, direct ${v}`);
        checked++;
      }
      const rate = m.x[i * FEATURE_COUNT + featureIndex('decline_rate_30d')];
      const want30 = want.pay_cnt_30d > 0 ? want.declined_cnt_30d / want.pay_cnt_30d : 0;
      expect(Math.abs(rate - want30)).toBeLessThan(1e-6);
    }
    expect(checked).toBeGreaterThan(1000 * 30);
  });

  it('gives users without payments the registry defaults', () => {
    let quiet = 0;
    for (let i = 0; i < m.n; i++) {
      if (reference.has(m.userIds[i])) continue;
      quiet++;
      expect(m.x[i * FEATURE_COUNT + featureIndex('pay_cnt_90d')]).toBe(0);
      expect(m.x[i * FEATURE_COUNT + featureIndex('days_since_last_payment')]).toBe(91);
    }
    expect(quiet + reference.size).toBeGreaterThanOrEqual(m.n);
  });
});
