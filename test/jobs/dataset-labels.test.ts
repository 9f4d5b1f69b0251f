/**
 * The point-in-time training set (jobs/dataset/build-dataset.ts over sql/training/dataset-labels.sql)
 * on handcrafted world slices: label maturation near the as-of date, last-touch attribution, the
 * `none` label, configurable windows, and the as-of join to feature snapshots that never looks
 * ahead. DuckDB in memory; each decision is placed by hand and named, so every expectation can be
 * worked out from the attribution windows of core/attribution.ts.
 */
import fs from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import type { Action } from '../../core/actions';
import { ATTRIBUTION_WINDOW_SECONDS, parseAttributionWindows } from '../../core/attribution';
import { loadConfig } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { featureIndex } from '../../core/feature-registry';
import { buildDatasetTable, type DatasetSummary } from '../../jobs/dataset/build-dataset';
import { writeTinyWorld, type TinyDecision, type TinyOutcome, type TinyPayment } from '../helpers/tiny-world';

const AS_OF = '2026-06-30';
const DATA_START = '2026-03-01';
const GOALS = ['cashback', 'referral_prompt', 'autopay_setup', 'card_on_file', 'installment_offer'] as const;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** `hours` before midnight of AS_OF, as a TIMESTAMP literal. */
function before(hours: number): string {
  return new Date(Date.parse(`${AS_OF}T00:00:00Z`) - hours * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
}
const days = (d: number) => before(d * 24);

/** Named decisions: the tiny world numbers them d0, d1, … in insertion order. */
class Scenario {
  readonly decisions: TinyDecision[] = [];
  readonly outcomes: TinyOutcome[] = [];
  readonly payments: TinyPayment[] = [];
  readonly users = new Set<string>();
  private readonly ids = new Map<string, string>();
  decide(name: string, user: string, ts: string, action: Action): this {
    if (this.ids.has(name)) throw new Error(`duplicate decision name ${name}`);
    this.ids.set(name, `d${this.decisions.length}`);
    this.decisions.push({ user, ts, action });
    this.users.add(user);
    return this;
  }
  event(user: string, ts: string, goal: string): this {
    this.outcomes.push({ user, ts, goal });
    this.users.add(user);
    return this;
  }
  pay(user: string, ts: string, amount = 20): this {
    this.payments.push({ user, ts, amount });
    this.users.add(user);
    return this;
  }
  id(name: string): string {
    const id = this.ids.get(name);
    if (!id) throw new Error(`no decision named ${name}`);
    return id;
  }
}

interface Row {
  decision_id: string;
  user_id: string;
  action: string;
  label: number | null;
  split: string;
  decision_day: string;
  snapshot_date: string;
  y: Record<string, number | null>;
  feat: Record<string, number>;
}

interface Built {
  summary: DatasetSummary;
  rows: Map<string, Row>;
}

const FEATS = ['pay_cnt_90d', 'pay_cnt_7d', 'offers_30d'];

async function build(s: Scenario, o: { windows?: Readonly<Record<Action, number>>; every?: number; asOf?: string; extra?: { decisions?: TinyDecision[]; outcomes?: TinyOutcome[] } } = {}): Promise<Built> {
  const w = await writeTinyWorld({
    users: [...s.users].sort(),
    payments: s.payments,
    decisions: [...s.decisions, ...(o.extra?.decisions ?? [])],
    outcomes: [...s.outcomes, ...(o.extra?.outcomes ?? [])],
  });
  dirs.push(w.dir);
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const summary = await buildDatasetTable(conn, w.files, { asOf: o.asOf ?? AS_OF, windows: o.windows ?? ATTRIBUTION_WINDOW_SECONDS, dataStart: DATA_START, snapshotEveryDays: o.every ?? 7 });
    const res = await conn.runAndReadAll(
      `SELECT decision_id, user_id, action, label::INTEGER AS label, split, decision_ts::DATE::VARCHAR AS decision_day, snapshot_date::VARCHAR AS snapshot_date,
              ${GOALS.map((g) => `y_${g}::INTEGER AS y_${g}`).join(', ')},
              ${FEATS.map((f) => `x[${featureIndex(f) + 1}]::DOUBLE AS f_${f}`).join(', ')}
       FROM dataset`,
    );
    const rows = new Map<string, Row>();
    for (const r of res.getRowObjectsJS() as Record<string, unknown>[]) {
      const num = (v: unknown) => (v === null ? null : Number(v));
      rows.set(String(r.decision_id), {
        decision_id: String(r.decision_id),
        user_id: String(r.user_id),
        action: String(r.action),
        label: num(r.label),
        split: String(r.split),
        decision_day: String(r.decision_day),
        snapshot_date: String(r.snapshot_date),
        y: Object.fromEntries(GOALS.map((g) => [g, num(r[`y_${g}`])])),
        feat: Object.fromEntries(FEATS.map((f) => [f, Number(r[`f_${f}`])])),
      });
    }
    return { summary, rows };
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** Which goals' windows have closed before AS_OF for a decision `hoursBefore` hours before it. */
function maturedGoals(hoursBefore: number, windows: Readonly<Record<Action, number>> = ATTRIBUTION_WINDOW_SECONDS): Record<string, boolean> {
  return Object.fromEntries(GOALS.map((g) => [g, windows[g] < hoursBefore * 3600]));
}

// ---------------------------------------------------------------------------------------------

describe('dataset labels: maturation near the as-of date', () => {
  // One user per decision, so attribution between decisions never comes into it.
  const s = new Scenario()
    .decide('cb_3d', 'm01', days(3), 'cashback')
    .decide('cb_8d', 'm02', days(8), 'cashback')
    .decide('cb_7d_exact', 'm03', days(7), 'cashback') // window closes exactly at as_of: not before it
    .decide('cof_2h', 'm04', before(2), 'card_on_file')
    .decide('cof_30m', 'm05', before(0.5), 'card_on_file')
    .decide('inst_2h', 'm06', before(2), 'installment_offer')
    .decide('ref_29d', 'm07', days(29), 'referral_prompt')
    .decide('ref_31d', 'm08', days(31), 'referral_prompt')
    .decide('auto_29d', 'm09', days(29), 'autopay_setup')
    .decide('auto_31d', 'm10', days(31), 'autopay_setup')
    .decide('none_6d', 'm11', days(6), 'none')
    .decide('none_8d', 'm12', days(8), 'none')
    .decide('after_asof', 'm13', '2026-06-30 00:00:00', 'card_on_file') // at as_of: never in the set
    // goal events of the present decisions, inside their windows
    .event('m02', days(6), 'cashback')
    .event('m04', before(1.5), 'card_on_file')
    .event('m08', days(5), 'referral_prompt');
  let b: Built;

  it('drops decisions whose chosen action has not matured (absent, not labelled 0)', async () => {
    b = await build(s);
    const present = (n: string) => b.rows.has(s.id(n));
    expect(present('cb_3d')).toBe(false);
    expect(present('cb_8d')).toBe(true);
    expect(present('cb_7d_exact')).toBe(false);
    expect(present('cof_2h')).toBe(true);
    expect(present('cof_30m')).toBe(false);
    expect(present('inst_2h')).toBe(true);
    expect(present('ref_29d')).toBe(false);
    expect(present('ref_31d')).toBe(true);
    expect(present('auto_29d')).toBe(false);
    expect(present('auto_31d')).toBe(true);
    expect(present('none_6d')).toBe(false);
    expect(present('none_8d')).toBe(true);
    expect(present('after_asof')).toBe(false);
    expect(b.summary.rows).toBe(6);
    expect(b.summary.droppedNoSnapshot).toBe(0);
    expect(b.rows.size).toBe(6);
  });

  it('labels the matured ones from events inside their windows', () => {
    expect(b.rows.get(s.id('cb_8d'))!.label).toBe(1);
    expect(b.rows.get(s.id('cof_2h'))!.label).toBe(1);
    expect(b.rows.get(s.id('ref_31d'))!.label).toBe(1);
    for (const n of ['inst_2h', 'auto_31d', 'none_8d']) expect(b.rows.get(s.id(n))!.label, n).toBe(0);
    expect(b.summary.labelsPerAction).toEqual({
      autopay_setup: { rows: 1, positives: 0 },
      card_on_file: { rows: 1, positives: 1 },
      cashback: { rows: 1, positives: 1 },
      installment_offer: { rows: 1, positives: 0 },
      none: { rows: 1, positives: 0 },
      referral_prompt: { rows: 1, positives: 1 },
    });
  });

  it('y_<goal> is NULL for every goal whose window is still open, 0/1 for the others', () => {
    const cases: [string, number][] = [['cb_8d', 8 * 24], ['cof_2h', 2], ['inst_2h', 2], ['ref_31d', 31 * 24], ['auto_31d', 31 * 24], ['none_8d', 8 * 24]];
    for (const [n, h] of cases) {
      const r = b.rows.get(s.id(n))!;
      const m = maturedGoals(h);
      for (const g of GOALS) {
        if (m[g]) expect([0, 1], `${n} y_${g}`).toContain(r.y[g]);
        else expect(r.y[g], `${n} y_${g}`).toBeNull();
      }
    }
    // Spelled out for two rows: an in-session decision 2 hours old knows only the in-session goals.
    expect(b.rows.get(s.id('cof_2h'))!.y).toEqual({ cashback: null, referral_prompt: null, autopay_setup: null, card_on_file: 1, installment_offer: 0 });
    expect(b.rows.get(s.id('cb_8d'))!.y).toEqual({ cashback: 1, referral_prompt: null, autopay_setup: null, card_on_file: 0, installment_offer: 0 });
    // The label is the chosen action's own goal.
    for (const r of b.rows.values()) if (r.action !== 'none') expect(r.label).toBe(r.y[r.action]);
  });

  it('an outcome (or decision) at or after as_of never counts and never moves a row', async () => {
    const extra = {
      outcomes: [
        { user: 'm09', ts: '2026-06-30 00:00:00', goal: 'autopay_setup' }, // exactly at as_of
        { user: 'm02', ts: '2026-06-30 05:00:00', goal: 'referral_prompt' }, // inside cb_8d's (open) referral window
        { user: 'm06', ts: '2026-07-01 00:00:00', goal: 'installment_offer' },
        { user: 'm12', ts: '2026-07-02 00:00:00', goal: 'cashback' },
        { user: 'm05', ts: '2026-06-30 00:10:00', goal: 'card_on_file' }, // inside cof_30m's window, which is open
      ],
      decisions: [{ user: 'm02', ts: '2026-07-01 09:00:00', action: 'cashback' as Action }],
    };
    const late = await build(s, { extra });
    expect([...late.rows.keys()].sort()).toEqual([...b.rows.keys()].sort());
    for (const [id, r] of b.rows) {
      const l = late.rows.get(id)!;
      expect({ label: l.label, y: l.y, split: l.split, snapshot: l.snapshot_date }).toEqual({ label: r.label, y: r.y, split: r.split, snapshot: r.snapshot_date });
    }
    expect(late.summary.labelsPerAction).toEqual(b.summary.labelsPerAction);
  });

  it('an as-of date before every window has closed refuses (INPUT_MISSING), it does not label them 0', async () => {
    // As of 06-25: cb_8d (06-22 + 7d), ref_31d and auto_31d (05-30 + 30d), none_8d (06-22 + 7d) are all still open.
    await expect(build(s, { asOf: '2026-06-25' })).rejects.toMatchObject({ code: ErrorCodes.INPUT_MISSING, message: expect.stringMatching(/no matured decisions before 2026-06-25/) });
  });
});

describe('dataset labels: last-touch attribution', () => {
  const s = new Scenario()
    // Two cashback decisions, one goal event inside both windows: only the later one is credited.
    .decide('lt_first', 'a1', '2026-06-01 10:00:00', 'cashback')
    .decide('lt_second', 'a1', '2026-06-03 10:00:00', 'cashback')
    .event('a1', '2026-06-04 10:00:00', 'cashback')
    // The latest decision wins whatever its action: the cashback goal window of a card_on_file
    // decision covers the event too (the SQL header: "the user's latest decision before it").
    .decide('x_cashback', 'a2', '2026-06-01 10:00:00', 'cashback')
    .decide('x_card', 'a2', '2026-06-02 10:00:00', 'card_on_file')
    .event('a2', '2026-06-03 10:00:00', 'cashback')
    // An event 8 days after the only cashback decision before it, and before the next one: nobody.
    .decide('out_first', 'a3', '2026-06-01 10:00:00', 'cashback')
    .event('a3', '2026-06-09 10:00:00', 'cashback')
    .decide('out_next', 'a3', '2026-06-09 12:00:00', 'cashback')
    // Window bounds: (decision_ts, decision_ts + window].
    .decide('edge_end', 'a4', '2026-06-01 10:00:00', 'cashback')
    .event('a4', '2026-06-08 10:00:00', 'cashback') // exactly at the end: counts
    .decide('edge_start', 'a5', '2026-06-01 10:00:00', 'cashback')
    .event('a5', '2026-06-01 10:00:00', 'cashback') // at the decision instant: does not
    .decide('cof_edge_in', 'a6', '2026-06-01 10:00:00', 'card_on_file')
    .event('a6', '2026-06-01 11:00:00', 'card_on_file') // exactly one hour: counts
    .decide('cof_edge_out', 'a7', '2026-06-01 10:00:00', 'card_on_file')
    .event('a7', '2026-06-01 11:00:01', 'card_on_file') // one second late: does not
    // A goal of another action does not label an offer: a cashback offer followed by autopay.
    .decide('other_goal', 'a8', '2026-05-25 10:00:00', 'cashback')
    .event('a8', '2026-05-26 10:00:00', 'autopay_setup')
    // `none`: any goal within the `none` window (7 days) credited to it.
    .decide('none_hit', 'n1', '2026-06-10 10:00:00', 'none')
    .event('n1', '2026-06-12 10:00:00', 'autopay_setup')
    .decide('none_far', 'n2', '2026-05-20 10:00:00', 'none')
    .event('n2', '2026-05-30 10:00:00', 'referral_prompt') // 10 days: referral window yes, none window no
    .decide('none_quiet', 'n3', '2026-06-10 10:00:00', 'none')
    .decide('none_stolen', 'n4', '2026-06-10 10:00:00', 'none')
    .decide('none_thief', 'n4', '2026-06-11 10:00:00', 'installment_offer')
    .event('n4', '2026-06-12 10:00:00', 'cashback'); // credited to the later installment decision
  let b: Built;
  const row = (n: string) => {
    const r = b.rows.get(s.id(n));
    if (!r) throw new Error(`decision ${n} (${s.id(n)}) is not in the dataset`);
    return r;
  };

  it('credits one goal event to the later of two decisions of the same user only', async () => {
    b = await build(s);
    expect(b.rows.size).toBe(s.decisions.length);
    expect(row('lt_second').label).toBe(1);
    expect(row('lt_second').y.cashback).toBe(1);
    expect(row('lt_first').label).toBe(0);
    expect(row('lt_first').y.cashback).toBe(0);
  });

  it('the latest decision before the event takes it, whatever its action', () => {
    expect(row('x_card').y.cashback).toBe(1);
    expect(row('x_card').label).toBe(0); // its own goal (card saved) did not happen
    expect(row('x_cashback').label).toBe(0);
    expect(row('x_cashback').y.cashback).toBe(0);
  });

  it('an event outside every window credits nobody; windows are (ts, ts + window]', () => {
    expect(row('out_first').label).toBe(0);
    expect(row('out_next').label).toBe(0);
    expect(row('out_first').y.cashback).toBe(0);
    expect(row('out_next').y.cashback).toBe(0);
    // Decided on 06-01/06-09: the 30-day goals of these rows are still open, so unknown rather than 0.
    expect(row('out_first').y.referral_prompt).toBeNull();
    expect(row('edge_end').label).toBe(1);
    expect(row('edge_start').label).toBe(0);
    expect(row('cof_edge_in').label).toBe(1);
    expect(row('cof_edge_out').label).toBe(0);
  });

  it("another goal fills that goal's y column, never the offer's label", () => {
    expect(row('other_goal').label).toBe(0);
    expect(row('other_goal').y.autopay_setup).toBe(1);
    expect(row('other_goal').y.cashback).toBe(0);
  });

  it('the `none` label: any goal attributed to it within the none window', () => {
    expect(row('none_hit').label).toBe(1);
    // The `none` label needs only the none window (7 days) closed; y_autopay_setup waits for its own 30 days.
    expect(row('none_hit').y.autopay_setup).toBeNull();
    expect(row('none_far').label).toBe(0);
    expect(row('none_far').y.referral_prompt).toBe(1); // the goal is still its y, just not within 7 days
    expect(row('none_quiet').label).toBe(0);
    expect(row('none_stolen').label).toBe(0);
    expect(row('none_thief').y.cashback).toBe(1);
    expect(row('none_thief').label).toBe(0);
  });

  it('each goal event is credited at most once', () => {
    const credited = new Map<string, number>();
    for (const r of b.rows.values()) for (const g of GOALS) if (r.y[g] === 1) credited.set(`${r.user_id}/${g}`, (credited.get(`${r.user_id}/${g}`) ?? 0) + 1);
    // One event per (user, goal) in this scenario, except a5's and a3's which credit nobody.
    for (const [k, n] of credited) expect(n, k).toBe(1);
    expect(credited.has('a3/cashback')).toBe(false);
    expect(credited.has('a5/cashback')).toBe(false);
  });
});

describe('dataset labels: custom attribution windows', () => {
  const s = new Scenario()
    .decide('cb_3d', 'c1', days(3), 'cashback')
    .event('c1', days(2), 'cashback') // 1 day after: inside 2d
    .decide('cb_10d', 'c2', days(10), 'cashback')
    .event('c2', before(10 * 24 - 60), 'cashback') // 2.5 days after: inside 7d, outside 2d
    .decide('cof_30m', 'c3', before(0.5), 'card_on_file')
    .event('c3', before(0.4), 'card_on_file') // 6 minutes after: inside 10m
    .decide('cof_2h', 'c4', before(2), 'card_on_file')
    .event('c4', before(1.5), 'card_on_file') // 30 minutes after: inside 1h, outside 10m
    .decide('ref_20d', 'c5', days(20), 'referral_prompt');

  it('parseAttributionWindows changes which decisions have matured and how they are labelled', async () => {
    const def = await build(s);
    const custom = parseAttributionWindows('cashback=2d, card_on_file=10m, referral_prompt=14d');
    expect(custom).toMatchObject({ cashback: 2 * 86400, card_on_file: 600, referral_prompt: 14 * 86400, autopay_setup: ATTRIBUTION_WINDOW_SECONDS.autopay_setup });
    const cus = await build(s, { windows: custom });

    // Defaults: cb_3d, cof_30m and ref_20d are still open.
    expect(def.rows.has(s.id('cb_3d'))).toBe(false);
    expect(def.rows.has(s.id('cof_30m'))).toBe(false);
    expect(def.rows.has(s.id('ref_20d'))).toBe(false);
    expect(def.rows.get(s.id('cb_10d'))!.label).toBe(1);
    expect(def.rows.get(s.id('cof_2h'))!.label).toBe(1);

    // Shorter windows: they have matured, and the events outside the shorter windows no longer count.
    expect(cus.rows.get(s.id('cb_3d'))!.label).toBe(1);
    expect(cus.rows.get(s.id('cof_30m'))!.label).toBe(1);
    expect(cus.rows.get(s.id('ref_20d'))!.label).toBe(0);
    expect(cus.rows.get(s.id('cb_10d'))!.label).toBe(0);
    expect(cus.rows.get(s.id('cof_2h'))!.label).toBe(0);
    // And y columns follow the custom maturity too: cb_3d knows its cashback and in-session goals only.
    expect(cus.rows.get(s.id('cb_3d'))!.y).toEqual({ cashback: 1, referral_prompt: null, autopay_setup: null, card_on_file: 0, installment_offer: 0 });
    // ref_20d: referral (14d) matured, autopay (30d) not.
    expect(cus.rows.get(s.id('ref_20d'))!.y.referral_prompt).toBe(0);
    expect(cus.rows.get(s.id('ref_20d'))!.y.autopay_setup).toBeNull();
  });

  it('PAYDECIDE_ATTRIBUTION_WINDOWS reaches the config; a bad value fails naming it', () => {
    const cfg = loadConfig({ PAYDECIDE_ATTRIBUTION_WINDOWS: 'cashback=2d,card_on_file=10m' });
    expect(cfg.attributionWindows).toEqual(parseAttributionWindows('cashback=2d,card_on_file=10m'));
    expect(loadConfig({}).attributionWindows).toEqual(ATTRIBUTION_WINDOW_SECONDS);
    for (const bad of ['cashback=2w', 'cashback=30s', 'bogus=1d', 'cashback=91d']) {
      let err: unknown;
      try {
        loadConfig({ PAYDECIDE_ATTRIBUTION_WINDOWS: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(PaydecideError);
      expect((err as PaydecideError).code).toBe(ErrorCodes.CONFIG);
      expect((err as Error).message).toMatch(/PAYDECIDE_ATTRIBUTION_WINDOWS/);
    }
  });

  it('buildDatasetTable refuses a window that is not a positive whole number of seconds', async () => {
    const w = { ...ATTRIBUTION_WINDOW_SECONDS, cashback: 0 };
    await expect(build(s, { windows: w })).rejects.toMatchObject({ code: ErrorCodes.CONFIG });
  });
});

describe('dataset: the as-of join to feature snapshots', () => {
  // User p: 2 payments before the 06-16 snapshot, 3 more between it and the 06-23 one, 1 on the
  // morning of 06-23 itself. card_on_file decisions (1 hour window) so maturity never comes in.
  const s = new Scenario()
    .pay('p', '2026-06-10 12:00:00')
    .pay('p', '2026-06-15 12:00:00')
    .pay('p', '2026-06-17 12:00:00')
    .pay('p', '2026-06-20 12:00:00')
    .pay('p', '2026-06-22 12:00:00')
    .pay('p', '2026-06-23 08:00:00')
    .decide('on_16', 'p', '2026-06-16 00:00:00', 'card_on_file') // exactly on a snapshot date: takes it
    .decide('before_23', 'p', '2026-06-22 23:59:00', 'card_on_file') // just before the next snapshot date
    .decide('on_23', 'p', '2026-06-23 10:00:00', 'card_on_file')
    .decide('late', 'p', '2026-06-29 20:00:00', 'card_on_file')
    // other users, decisions spread over the weeks
    .decide('q1', 'q', '2026-05-28 09:00:00', 'cashback')
    .decide('q2', 'q', '2026-06-05 09:00:00', 'none')
    .decide('q3', 'q', '2026-06-09 00:00:01', 'installment_offer')
    .decide('r1', 'r', '2026-06-02 23:00:00', 'card_on_file')
    .decide('r2', 'r', '2026-06-19 11:00:00', 'cashback')
    .pay('q', '2026-05-20 10:00:00')
    .pay('r', '2026-06-01 10:00:00');

  for (const every of [7, 3]) {
    it(`every row takes the latest snapshot on or before its decision day (every ${every} days)`, async () => {
      const b = await build(s, { every });
      const snaps = b.summary.snapshotDates;
      expect(snaps.length).toBeGreaterThan(2);
      expect([...snaps].sort()).toEqual(snaps);
      for (let i = 1; i < snaps.length; i++) expect(Date.parse(snaps[i]) - Date.parse(snaps[i - 1])).toBe(every * 86_400_000);
      // Dates are as_of − k·every.
      for (const d of snaps) expect(((Date.parse(AS_OF) - Date.parse(d)) / 86_400_000) % every).toBe(0);
      expect(b.rows.size).toBe(s.decisions.length);
      for (const r of b.rows.values()) {
        expect(r.snapshot_date <= r.decision_day, r.decision_id).toBe(true);
        const latest = snaps.filter((d) => d <= r.decision_day).at(-1);
        expect(r.snapshot_date, r.decision_id).toBe(latest);
      }
    });
  }

  it('a feature that changes between snapshots shows its value as of the earlier snapshot', async () => {
    const b = await build(s, { every: 7 });
    expect(b.summary.snapshotDates).toContain('2026-06-16');
    expect(b.summary.snapshotDates).toContain('2026-06-23');
    const on16 = b.rows.get(s.id('on_16'))!;
    const b23 = b.rows.get(s.id('before_23'))!;
    const on23 = b.rows.get(s.id('on_23'))!;
    expect(on16.snapshot_date).toBe('2026-06-16');
    expect(on16.feat.pay_cnt_90d).toBe(2);
    // 06-22 23:59: three more payments happened, but the live snapshot is still the 06-16 one.
    expect(b23.snapshot_date).toBe('2026-06-16');
    expect(b23.feat.pay_cnt_90d).toBe(2);
    // 06-23 10:00: the 06-23 snapshot, which reads data before 06-23 only (not the 08:00 payment).
    expect(on23.snapshot_date).toBe('2026-06-23');
    expect(on23.feat.pay_cnt_90d).toBe(5);
    expect(on23.feat.pay_cnt_7d).toBe(3);
    // Decisions are features too: the snapshot of 06-16 had seen none of p's offers; 06-23 saw two.
    expect(on16.feat.offers_30d).toBe(0);
    expect(on23.feat.offers_30d).toBe(2);
  });

  it('decisions before the first snapshot are counted as dropped, not joined to a later one', async () => {
    // A data start just before the first decision leaves no snapshot date on or before it.
    const w = await writeTinyWorld({ users: ['p', 'q'], payments: [], decisions: [{ user: 'p', ts: '2026-06-01 10:00:00', action: 'card_on_file' }, { user: 'q', ts: '2026-06-20 10:00:00', action: 'card_on_file' }] });
    dirs.push(w.dir);
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    try {
      const summary = await buildDatasetTable(conn, w.files, { asOf: AS_OF, windows: ATTRIBUTION_WINDOW_SECONDS, dataStart: '2026-05-31', snapshotEveryDays: 7 });
      expect(summary.snapshotDates[0] > '2026-06-01').toBe(true);
      expect(summary.droppedNoSnapshot).toBe(1);
      expect(summary.rows).toBe(1);
      const rows = (await conn.runAndReadAll('SELECT user_id, snapshot_date::VARCHAR AS s FROM dataset')).getRowObjectsJS();
      expect(rows).toEqual([{ user_id: 'q', s: '2026-06-16' }]);
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  });
});
