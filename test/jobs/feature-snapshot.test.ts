import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURES } from '../../core/feature-registry';
import { computeSnapshot } from '../../jobs/features/feature-snapshot';
import { writeTinyWorld, type TinyPayment } from '../helpers/tiny-world';

const AS_OF = '2026-06-30';
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function snapshot(files: Awaited<ReturnType<typeof writeTinyWorld>>['files'], asOf = AS_OF) {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const m = await computeSnapshot(conn, files, asOf, { slots: 64 });
    const byUser = new Map<string, Record<string, number>>();
    m.userIds.forEach((u, i) => byUser.set(u, Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, m.x[i * FEATURE_COUNT + j]]))));
    return { m, byUser };
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

const before: TinyPayment[] = [
  { user: 'a', ts: '2026-06-29 12:00:00', amount: 50, mcc: '5411', merchant: 'm1' }, // tile 0 (last day)
  { user: 'a', ts: '2026-06-25 09:00:00', amount: 300, mcc: '5812', merchant: 'm2', outcome: 'declined', code: '51' }, // tile 1
  { user: 'a', ts: '2026-06-10 09:00:00', amount: 5, channel: 'p2p', merchant: null, method: 'bank' }, // tile 2
  { user: 'a', ts: '2026-04-15 09:00:00', amount: 20, channel: 'bill_pay', mcc: '4900', merchant: 'm3', recurring: true }, // tile 3
  { user: 'a', ts: '2026-03-01 09:00:00', amount: 999, mcc: '5411' }, // older than 90 days: ignored
  { user: 'b', ts: '2026-06-20 10:00:00', amount: 10, merchant: 'm1' },
];

describe('feature snapshot', () => {
  it('computes windowed features that match a hand count', async () => {
    const w = await writeTinyWorld({ users: ['a', 'b', 'c'], payments: before, decisions: [{ user: 'a', ts: '2026-06-28 10:00:00', action: 'cashback' }, { user: 'a', ts: '2026-06-01 10:00:00', action: 'none' }], outcomes: [{ user: 'a', ts: '2026-06-20 10:00:00', goal: 'cashback', value: 7 }] });
    dirs.push(w.dir);
    const { m, byUser } = await snapshot(w.files);
    expect(m.n).toBe(3);
    const a = byUser.get('a')!;
    expect(a.pay_cnt_1d).toBe(1);
    expect(a.pay_cnt_7d).toBe(2);
    expect(a.pay_cnt_30d).toBe(3);
    expect(a.pay_cnt_90d).toBe(4);
    expect(a.pay_amt_7d).toBeCloseTo(350);
    expect(a.pay_amt_max_90d).toBeCloseTo(300);
    expect(a.declined_cnt_7d).toBe(1);
    expect(a.nsf_decline_cnt_90d).toBe(1);
    expect(a.decline_rate_7d).toBeCloseTo(0.5);
    expect(a.p2p_cnt_30d).toBe(1);
    expect(a.billpay_cnt_90d).toBe(1);
    expect(a.recurring_cnt_90d).toBe(1);
    expect(a.mcc_utility_cnt_90d).toBe(1);
    expect(a.mcc_dining_cnt_7d).toBe(1);
    expect(a.large_cnt_90d).toBe(1);
    expect(a.small_cnt_30d).toBe(1);
    expect(a.bank_cnt_90d).toBe(1);
    expect(a.distinct_merchants_1d).toBe(1);
    expect(a.distinct_merchants_7d).toBe(2);
    expect(a.distinct_merchants_90d).toBe(3);
    expect(a.active_days_90d).toBe(4);
    expect(a.days_since_last_payment).toBeCloseTo(0.5, 5);
    expect(a.days_since_last_decline).toBeCloseTo(4.625, 5);
    expect(a.offers_7d).toBe(1);
    expect(a.offers_cashback_30d).toBe(1);
    expect(a.days_since_last_offer).toBeCloseTo(38 / 24, 5);
    expect(a.goal_events_30d).toBe(1);
    expect(a.goal_value_30d).toBeCloseTo(7);
    // A user with no activity gets every registry default, never a NULL or NaN.
    const c = byUser.get('c')!;
    for (const f of FEATURES) if (f.source !== 'users') expect(c[f.name], f.name).toBe(f.default);
    for (let i = 0; i < m.x.length; i++) expect(Number.isFinite(m.x[i])).toBe(true);
  });

  it('is point-in-time: rows at or after the as-of date change nothing', async () => {
    const w1 = await writeTinyWorld({ users: ['a', 'b', 'c'], payments: before, decisions: [{ user: 'a', ts: '2026-06-28 10:00:00', action: 'cashback' }], outcomes: [{ user: 'b', ts: '2026-06-21 10:00:00', goal: 'autopay_setup' }] });
    const future: TinyPayment[] = [
      { user: 'a', ts: '2026-06-30 00:00:00', amount: 10_000, outcome: 'declined', code: '05', merchant: 'mx' }, // exactly at as-of
      { user: 'b', ts: '2026-07-02 08:00:00', amount: 777, channel: 'p2p', merchant: null },
      { user: 'c', ts: '2026-07-15 08:00:00', amount: 1, merchant: 'my' },
    ];
    const w2 = await writeTinyWorld({
      users: ['a', 'b', 'c'],
      payments: [...before, ...future],
      decisions: [{ user: 'a', ts: '2026-06-28 10:00:00', action: 'cashback' }, { user: 'c', ts: '2026-06-30 00:00:00', action: 'referral_prompt' }, { user: 'b', ts: '2026-07-01 00:00:00', action: 'cashback' }],
      outcomes: [{ user: 'b', ts: '2026-06-21 10:00:00', goal: 'autopay_setup' }, { user: 'a', ts: '2026-06-30 00:00:00', goal: 'cashback', value: 1000 }, { user: 'c', ts: '2026-07-03 00:00:00', goal: 'cashback' }],
    });
    dirs.push(w1.dir, w2.dir);
    const s1 = await snapshot(w1.files);
    const s2 = await snapshot(w2.files);
    expect(s2.m.userIds).toEqual(s1.m.userIds);
    expect(Array.from(s2.m.x)).toEqual(Array.from(s1.m.x));
    // And the future rows do count once the as-of date passes them.
    const later = await snapshot(w2.files, '2026-07-20');
    expect(later.byUser.get('c')!.pay_cnt_7d).toBe(1);
  });
});
