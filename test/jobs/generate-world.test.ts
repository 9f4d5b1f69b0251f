/**
 * The synthetic world generator against its contract (docs/world-schema.md): determinism,
 * extension = direct generation, schema, no card-like numbers, and the world's sanity figures.
 * Real DuckDB, small worlds (3,000 users) in a temp folder removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFER_ACTIONS, ACTIONS } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { closeDuckDB, openDuckDB, sqlStringList } from '../../jobs/duckdb';
import {
  generateWorld,
  readWorldManifest,
  verifyWorldFiles,
  worldFiles,
  WORLD_TABLES,
  type GenerateOptions,
  type WorldManifest,
  type WorldTable,
} from '../../jobs/world';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-gen-world-'));
const duckOpts = { threads: 2, memory: '2GB' };
const D = '2025-04-01';
const D3 = '2025-04-04';
const base: Omit<GenerateOptions, 'out'> = { users: 3000, days: 90, date: D, seed: 7, buckets: 8, duck: duckOpts };

let duck: Awaited<ReturnType<typeof openDuckDB>>;
const dirs = { a: path.join(tmp, 'a'), a2: path.join(tmp, 'a2'), b: path.join(tmp, 'b'), ext: path.join(tmp, 'ext'), direct: path.join(tmp, 'direct') };
const m: Record<keyof typeof dirs, WorldManifest> = {} as never;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}
/** Parquet files of a table as a DuckDB list literal, read without Hive columns (the file schema). */
function src(dir: string, manifest: WorldManifest, table: WorldTable): string {
  return `read_parquet(${sqlStringList(worldFiles(dir, manifest, table))}, hive_partitioning = false)`;
}
/** Order-independent content checksum of a table: row count and xor of per-row hashes. */
async function checksum(dir: string, manifest: WorldManifest, table: WorldTable): Promise<string> {
  const r = await rows(`SELECT count(*) AS n, bit_xor(hash(*COLUMNS(*))) AS h, sum(hash(*COLUMNS(*)) % 1000003) AS s FROM ${src(dir, manifest, table)}`);
  return `${r[0]!.n}:${r[0]!.h}:${r[0]!.s}`;
}

beforeAll(async () => {
  m.a = await generateWorld({ ...base, out: dirs.a });
  m.a2 = await generateWorld({ ...base, out: dirs.a2 });
  m.b = await generateWorld({ ...base, seed: 8, out: dirs.b });
  fs.cpSync(dirs.a, dirs.ext, { recursive: true });
  m.ext = await generateWorld({ ...base, out: dirs.ext, date: D3 });
  m.direct = await generateWorld({ ...base, out: dirs.direct, date: D3, days: 93 });
  duck = await openDuckDB(duckOpts);
});

afterAll(() => {
  if (duck) closeDuckDB(duck);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('determinism', () => {
  it('same seed gives byte-identical files and equal content; another seed differs', async () => {
    expect(m.a2.files).toEqual(m.a.files);
    expect(m.a2.sha256).toEqual(m.a.sha256);
    for (const t of WORLD_TABLES) {
      const ca = await checksum(dirs.a, m.a, t);
      expect(await checksum(dirs.a2, m.a2, t), t).toBe(ca);
      expect(await checksum(dirs.b, m.b, t), t).not.toBe(ca);
    }
  });
});

describe('extension', () => {
  it('gen to D then extend to D+3 equals gen straight to D+3 from the same start', async () => {
    expect(m.ext.start_date).toBe(m.a.start_date);
    expect(m.ext.start_date).toBe(m.direct.start_date);
    expect(m.ext).toMatchObject({ date: D3, days: 93, users: 3000, buckets: 8, seed: 7 });
    expect(m.ext.ranges).toEqual([{ from: '2025-01-01', to: D }, { from: D, to: D3 }]);
    // old files untouched, new ones appended
    for (const t of WORLD_TABLES) for (const f of m.a.files[t]) expect(m.ext.sha256[f]).toBe(m.a.sha256[f]);
    expect(m.ext.files.users).toEqual(m.a.files.users);
    expect(m.ext.files.payments.length).toBeGreaterThan(m.a.files.payments.length);
    for (const t of WORLD_TABLES) {
      expect(await checksum(dirs.ext, m.ext, t), t).toBe(await checksum(dirs.direct, m.direct, t));
    }
    // late outcomes: events in the new days of decisions made before D
    const late = await rows(`SELECT count(*) AS n FROM ${src(dirs.ext, m.ext, 'outcomes')} o JOIN ${src(dirs.ext, m.ext, 'decision_log')} d USING (decision_id)
                             WHERE o.event_ts >= TIMESTAMP '${D}' AND d.decision_ts < TIMESTAMP '${D}'`);
    expect(Number(late[0]!.n)).toBeGreaterThan(0);
    await verifyWorldFiles(dirs.ext, m.ext);
  });

  it('refuses an equal or earlier date, naming --date', async () => {
    for (const date of [D3, D]) {
      const err = await generateWorld({ ...base, out: dirs.ext, date }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PaydecideError);
      expect((err as PaydecideError).code).toBe(ErrorCodes.BAD_FLAG);
      expect((err as PaydecideError).message).toMatch(/--date/);
    }
    expect(readWorldManifest(dirs.ext).date).toBe(D3);
  });
});

/** Expected columns per table, parsed from the contract table in docs/world-schema.md. */
function contractSchema(): Record<string, [string, string][]> {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'world-schema.md'), 'utf8');
  const out: Record<string, [string, string][]> = {};
  const typeRe = /^(VARCHAR\[\]|VARCHAR|USMALLINT|UTINYINT|SMALLINT|INTEGER|BIGINT|BOOLEAN|DATE|TIMESTAMP|DOUBLE)/;
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const m1 = /^`W\/(\w+)\//.exec(cells[1] ?? '');
    if (!m1 || cells.length < 5) continue;
    const table = m1[1]!;
    if (table === 'truth') {
      out.truth = [['user_id', 'VARCHAR'], ['bucket', 'USMALLINT'], ...OFFER_ACTIONS.flatMap((a): [string, string][] => [[`base_${a}`, 'DOUBLE'], [`uplift_${a}`, 'DOUBLE']])];
      continue;
    }
    let text = cells.slice(3, -1).join('|').replace(/VARCHAR\(\d+\)/g, 'VARCHAR').replace(/\{[^}]*\}/g, '');
    const attrs = /`attr_00` … `attr_23`/.test(text);
    text = text.replace(/`attr_00` … `attr_23`/, '');
    for (let prev = ''; prev !== text; ) [prev, text] = [text, text.replace(/\([^()]*\)/g, '')];
    const cols: [string, string][] = [];
    let pending: string[] = [];
    const tokens = text.match(/`[^`]+`|[A-Z]+(?:\[\])?/g) ?? [];
    for (const tok of tokens) {
      if (tok.startsWith('`')) pending.push(tok.slice(1, -1));
      else if (typeRe.test(tok) && pending.length) {
        for (const n of pending) cols.push([n, tok]);
        pending = [];
      }
    }
    if (attrs) for (let k = 0; k < 24; k++) cols.push([`attr_${String(k).padStart(2, '0')}`, 'DOUBLE']);
    out[table] = cols;
  }
  return out;
}

describe('schema', () => {
  it('every table has exactly the columns and types of docs/world-schema.md', async () => {
    const expected = contractSchema();
    expect(Object.keys(expected).sort()).toEqual([...WORLD_TABLES].sort());
    expect(expected.users!.length).toBe(48);
    expect(expected.payments!.length).toBe(16);
    for (const t of WORLD_TABLES) {
      const got = (await rows(`DESCRIBE SELECT * FROM ${src(dirs.a, m.a, t)}`)).map((r) => [r.column_name, r.column_type]);
      expect(got, t).toEqual(expected[t]);
    }
  });

  it('files are Hive-partitioned by bucket; each user is in one partition, bucket = md5_number_lower(user_id) % buckets', async () => {
    for (const t of ['users', 'truth', 'payments', 'decision_log', 'outcomes'] as const) {
      for (const f of m.a.files[t]) expect(f).toMatch(new RegExp(`^${t}/bucket=\\d+/${t}_\\d{8}_\\d{8}\\.parquet$`));
      const bad = await rows(`SELECT count(*) AS n FROM read_parquet(${sqlStringList(worldFiles(dirs.a, m.a, t))}, hive_partitioning = false, filename = true)
                              WHERE bucket <> md5_number_lower(user_id) % 8 OR bucket <> regexp_extract(filename, 'bucket=(\\d+)', 1)::INTEGER`);
      expect(Number(bad[0]!.n), t).toBe(0);
    }
    const u = await rows(`SELECT count(*) AS n, count(DISTINCT user_id) AS d, min(user_id::INTEGER) AS lo, max(user_id::INTEGER) AS hi FROM ${src(dirs.a, m.a, 'users')}`);
    expect(u[0]).toEqual({ n: 3000n, d: 3000n, lo: 0, hi: 2999 });
    // a worker reads one slice
    const slice = worldFiles(dirs.a, m.a, 'payments', [3]);
    expect(slice.length).toBe(1);
    expect(slice[0]).toBe(path.join(dirs.a, 'payments', 'bucket=3', 'payments_20250101_20250401.parquet'));
    expect(worldFiles(dirs.a, m.a, 'campaigns', [3])).toEqual([path.join(dirs.a, 'campaigns', 'campaigns.parquet')]);
  });
});

/** Luhn check of a digit string. */
function luhn(d: string): boolean {
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    let x = d.charCodeAt(d.length - 1 - i) - 48;
    if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
    sum += x;
  }
  return sum % 10 === 0;
}

describe('PII', () => {
  it('no 13-19 digit run passing Luhn in any text column; tokens are hash-like hex', async () => {
    for (const t of WORLD_TABLES) {
      const cols = (await rows(`DESCRIBE SELECT * FROM ${src(dirs.a, m.a, t)}`)).filter((r) => r.column_type === 'VARCHAR').map((r) => String(r.column_name));
      for (const c of cols) {
        const runs = await rows(`SELECT DISTINCT unnest(regexp_extract_all("${c}", '[0-9]{13,}')) AS r FROM ${src(dirs.a, m.a, t)}`);
        const cardLike = runs.map((r) => String(r.r)).filter((r) => {
          for (let len = 13; len <= Math.min(19, r.length); len++) for (let i = 0; i + len <= r.length; i++) if (luhn(r.slice(i, i + len))) return true;
          return false;
        });
        expect(cardLike, `${t}.${c}`).toEqual([]);
      }
    }
    const bad = await rows(`SELECT count(*) AS n FROM ${src(dirs.a, m.a, 'payments')}
                            WHERE NOT regexp_full_match(device_token, 'dev_[0-9a-f]{8}-[0-9a-f]{8}')
                               OR NOT regexp_full_match(instrument_token, '(ins|bal)_[0-9a-f]{8}-[0-9a-f]{8}')
                               OR NOT regexp_full_match(coalesce(merchant_id, 'mrc_00000000-00000000'), 'mrc_[0-9a-f]{8}-[0-9a-f]{8}')`);
    expect(Number(bad[0]!.n)).toBe(0);
  });
});

describe('world sanity', () => {
  it('payments: ~20 per user over 90 days, all in [start, D), 4-8% declined, three channels', async () => {
    const p = (await rows(`SELECT count(*) / 3000.0 AS per_user, min(ts)::VARCHAR AS lo, max(ts)::VARCHAR AS hi, avg((auth_outcome = 'declined')::INTEGER) AS decl,
                                  count(DISTINCT channel) AS ch, count(DISTINCT currency) AS cur,
                                  count(*) FILTER (WHERE (channel = 'p2p') <> (merchant_id IS NULL)) AS bad_merchant,
                                  count(*) FILTER (WHERE (auth_outcome = 'approved') <> (decline_code IS NULL)) AS bad_code
                           FROM ${src(dirs.a, m.a, 'payments')}`))[0]!;
    expect(Number(p.per_user)).toBeGreaterThan(15);
    expect(Number(p.per_user)).toBeLessThan(25);
    expect(String(p.lo) >= '2025-01-01').toBe(true);
    expect(String(p.hi) < D).toBe(true);
    expect(Number(p.decl)).toBeGreaterThan(0.04);
    expect(Number(p.decl)).toBeLessThan(0.08);
    expect(p).toMatchObject({ ch: 3n, cur: 6n, bad_merchant: 0n, bad_code: 0n });
  });

  it('campaigns: ~40 covering all five offer actions', async () => {
    const c = await rows(`SELECT action, count(*) AS n FROM ${src(dirs.a, m.a, 'campaigns')} GROUP BY action ORDER BY action`);
    expect(c.map((r) => r.action)).toEqual([...OFFER_ACTIONS].sort());
    const total = c.reduce((s, r) => s + Number(r.n), 0);
    expect(total).toBeGreaterThanOrEqual(35);
    expect(total).toBeLessThanOrEqual(45);
  });

  it('decision log: ~3 per user in the last 60 days, propensities in (0,1], none >= 10%, IPS of none ~ 1', async () => {
    const d = (await rows(`SELECT count(*) / 3000.0 AS per_user, min(decision_ts)::VARCHAR AS lo, max(decision_ts)::VARCHAR AS hi,
                                  min(propensity) AS pmin, max(propensity) AS pmax,
                                  avg((action = 'none')::INTEGER) AS none_share,
                                  sum(CASE WHEN action = 'none' THEN 1 / propensity ELSE 0 END) / count(*) AS ips_none,
                                  count(DISTINCT action) AS actions,
                                  count(*) FILTER (WHERE (action = 'none') <> (campaign_id = -1)) AS bad_campaign
                           FROM ${src(dirs.a, m.a, 'decision_log')}`))[0]!;
    expect(Number(d.per_user)).toBeGreaterThan(2.3);
    expect(Number(d.per_user)).toBeLessThan(3.7);
    expect(String(d.lo) >= '2025-01-31').toBe(true);
    expect(String(d.hi) < D).toBe(true);
    expect(Number(d.pmin)).toBeGreaterThan(0);
    expect(Number(d.pmax)).toBeLessThanOrEqual(1);
    expect(Number(d.none_share)).toBeGreaterThanOrEqual(0.1);
    expect(Number(d.ips_none)).toBeGreaterThan(0.9);
    expect(Number(d.ips_none)).toBeLessThan(1.1);
    expect(d).toMatchObject({ actions: BigInt(ACTIONS.length), bad_campaign: 0n });
  });

  it('outcomes only before D, after their decision, within the goal window', async () => {
    const o = (await rows(`SELECT count(*) AS n, max(o.event_ts)::VARCHAR AS hi,
                                  count(*) FILTER (WHERE o.event_ts <= d.decision_ts) AS before_decision,
                                  count(*) FILTER (WHERE o.event_ts > d.decision_ts + CASE o.goal WHEN 'cashback' THEN INTERVAL 7 DAY
                                                   WHEN 'referral_prompt' THEN INTERVAL 30 DAY WHEN 'autopay_setup' THEN INTERVAL 30 DAY
                                                   ELSE INTERVAL 1 HOUR END) AS outside_window,
                                  count(DISTINCT o.goal) AS goals
                           FROM ${src(dirs.a, m.a, 'outcomes')} o JOIN ${src(dirs.a, m.a, 'decision_log')} d USING (decision_id)`))[0]!;
    expect(Number(o.n)).toBeGreaterThan(0);
    expect(String(o.hi) < D).toBe(true);
    expect(o).toMatchObject({ before_decision: 0n, outside_window: 0n, goals: 5n });
  });

  it('truth: base rates 0-30%, uplifts of a few points with some negative (sleeping dogs)', async () => {
    const cols = OFFER_ACTIONS.map((a) => `min(base_${a}) AS bmin_${a}, max(base_${a}) AS bmax_${a}, min(uplift_${a}) AS umin_${a}, max(uplift_${a}) AS umax_${a}`).join(', ');
    const t = (await rows(`SELECT ${cols}, count(*) FILTER (WHERE uplift_cashback < 0 OR uplift_referral_prompt < 0) AS negative FROM ${src(dirs.a, m.a, 'truth')}`))[0]!;
    for (const a of OFFER_ACTIONS) {
      expect(Number(t[`bmin_${a}`])).toBeGreaterThan(0);
      expect(Number(t[`bmax_${a}`])).toBeLessThan(0.3);
      expect(Number(t[`umin_${a}`])).toBeGreaterThanOrEqual(-0.05);
      expect(Number(t[`umax_${a}`])).toBeGreaterThan(0.02);
      expect(Number(t[`umax_${a}`])).toBeLessThan(0.12);
    }
    expect(Number(t.negative)).toBeGreaterThan(0);
  });
});

describe('manifest and options', () => {
  it('world.json lists every file with its sha256; corrupt or missing manifests are refused by name', async () => {
    const mf = readWorldManifest(dirs.a);
    expect(mf).toMatchObject({ format: 1, seed: 7, users: 3000, buckets: 8, start_date: '2025-01-01', date: D, days: 90 });
    expect(mf.rows).toMatchObject({ users: 3000, campaigns: 40, truth: 3000 });
    await verifyWorldFiles(dirs.a, mf);

    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    expect(() => readWorldManifest(broken)).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_MISSING }));
    fs.writeFileSync(path.join(broken, 'world.json'), '{ not json');
    expect(() => readWorldManifest(broken)).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_SCHEMA, message: expect.stringContaining('world.json') }));
    fs.writeFileSync(path.join(broken, 'world.json'), JSON.stringify({ ...mf, start_date: '2025-13-01' }));
    expect(() => readWorldManifest(broken)).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_SCHEMA, message: expect.stringContaining('field start_date') }));

    const copy = path.join(tmp, 'corrupt');
    fs.cpSync(dirs.a, copy, { recursive: true });
    const victim = path.join(copy, ...mf.files.payments[0]!.split('/'));
    fs.appendFileSync(victim, 'x');
    await expect(verifyWorldFiles(copy, mf)).rejects.toMatchObject({ code: ErrorCodes.INPUT_CORRUPT });
  });

  it('bad options are refused naming the flag; a foreign non-empty folder is refused', async () => {
    const cases: [Partial<GenerateOptions>, string][] = [
      [{ users: 0 }, '--users'], [{ days: 0 }, '--days'], [{ days: 731 }, '--days'], [{ date: '2025-02-30' }, '--date'],
      [{ date: '20250401' }, '--date'], [{ buckets: 0 }, '--buckets'], [{ buckets: 5000 }, '--buckets'], [{ seed: 1.5 }, '--seed'],
    ];
    for (const [o, flag] of cases) {
      const err = await generateWorld({ ...base, out: path.join(tmp, 'never'), ...o }).catch((e: unknown) => e);
      expect(err, flag).toMatchObject({ code: ErrorCodes.BAD_FLAG });
      expect((err as Error).message.startsWith(flag), (err as Error).message).toBe(true);
    }
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
    const foreign = path.join(tmp, 'foreign');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'keep me');
    await expect(generateWorld({ ...base, out: foreign })).rejects.toMatchObject({ code: ErrorCodes.BAD_FLAG });
    expect(fs.readFileSync(path.join(foreign, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});
