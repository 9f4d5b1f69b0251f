/**
 * An incremental night (yesterday's payment state moved forward by a day, jobs/features/
 * payment-state-sql.ts) must give exactly the features of a full rebuild at the same date, night
 * after night, and survive a trip through its state file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { addDays } from '../../core/dates';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../core/feature-registry';
import { computeSnapshot, type FeatureMatrix, type SliceFiles } from '../../jobs/features/feature-snapshot';
import { readStateFile, stateFile, writeStateFile } from '../../jobs/features/payment-state-file';
import { generateWorld, readWorldManifest, worldFiles } from '../../jobs/world';

const FIRST = '2026-06-26';
const NIGHTS = 4;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-pstate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let conn: DuckDBConnection;
let inst: DuckDBInstance;
let files: SliceFiles;

beforeAll(async () => {
  await generateWorld({ out: tmp, users: 3000, days: 120, date: '2026-06-30', seed: 5, buckets: 4, duck: { threads: 2, memory: '2GB' } });
  const world = readWorldManifest(tmp);
  files = {
    users: worldFiles(tmp, world, 'users'),
    payments: worldFiles(tmp, world, 'payments'),
    decisions: worldFiles(tmp, world, 'decision_log'),
    outcomes: worldFiles(tmp, world, 'outcomes'),
  };
  inst = await DuckDBInstance.create(':memory:');
  conn = await inst.connect();
}, 120_000);

afterAll(() => {
  conn?.closeSync();
  inst?.closeSync();
});

function firstDifference(a: FeatureMatrix, b: FeatureMatrix): string | null {
  if (a.n !== b.n) return `rows ${a.n} vs ${b.n}`;
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < FEATURE_COUNT; j++) {
      const u = a.x[i * FEATURE_COUNT + j];
      const v = b.x[i * FEATURE_COUNT + j];
      if (u !== v && !(u !== u && v !== v)) return `user ${a.userIds[i]} ${FEATURE_NAMES[j]}: incremental ${u}, full ${v}`;
    }
  }
  return null;
}

describe('incremental payment state', () => {
  it('equals a full rebuild on every one of several consecutive nights, through the state file', async () => {
    let m = await computeSnapshot(conn, files, FIRST, { table: false });
    expect(m.mode).toBe('full');
    let recomputed = 0;
    for (let night = 1; night <= NIGHTS; night++) {
      const asOf = addDays(FIRST, night);
      const file = stateFile(tmp, 0, 4, addDays(asOf, -1));
      writeStateFile(file, { state: m.payment, userIds: m.userIds, asOf: addDays(asOf, -1) });
      const prev = readStateFile(file);
      const inc = await computeSnapshot(conn, files, asOf, { table: false, prev });
      expect(inc.mode).toBe('incremental');
      recomputed += inc.recomputed ?? 0;
      const full = await computeSnapshot(conn, files, asOf, { table: false });
      expect(full.mode).toBe('full');
      expect(firstDifference(inc, full)).toBeNull();
      // the pair state, not only the counts derived from it
      expect(inc.payment.pairs.length).toBe(full.payment.pairs.length);
      m = inc;
    }
    // expiring maxima and first payments were exercised, not only the invertible sums
    expect(recomputed).toBeGreaterThan(0);
  }, 120_000);

  it('falls back to a full rebuild when the stored state is not from the day before', async () => {
    const m = await computeSnapshot(conn, files, FIRST, { table: false });
    const asOf = addDays(FIRST, 2);
    const inc = await computeSnapshot(conn, files, asOf, { table: false, prev: { state: m.payment, userIds: m.userIds, asOf: FIRST } });
    expect(inc.mode).toBe('full');
    expect(inc.fullReason).toMatch(/not 2026-06-27/);
  }, 60_000);

  it('refuses a truncated or foreign state file with a message naming it', () => {
    const m = path.join(tmp, 'bad.bin');
    fs.writeFileSync(m, 'not a state');
    expect(() => readStateFile(m)).toThrow(/bad\.bin: not a payment state file/);
  });

  it('refuses a state whose merchant ids another DuckDB hashed', async () => {
    const m = await computeSnapshot(conn, files, FIRST, { table: false });
    const file = path.join(tmp, 'other-duckdb.bin');
    writeStateFile(file, { state: m.payment, userIds: m.userIds, asOf: FIRST });
    expect(readStateFile(file).userIds).toEqual(m.userIds);
    const buf = fs.readFileSync(file);
    const at = buf.indexOf('"merchant_hash":"duckdb ');
    expect(at).toBeGreaterThan(0);
    buf.write('D', at + '"merchant_hash":"'.length); // same length: the header still parses
    fs.writeFileSync(file, buf);
    expect(() => readStateFile(file)).toThrow(/other-duckdb\.bin: merchant ids hashed by Duckdb/);
  }, 60_000);
});
