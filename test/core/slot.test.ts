import { DuckDBInstance, listValue } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { modelTagOf } from '../../core/score-record-codec';
import { bucketOf, hashMod, slotCount, slotOf, userHash64, userHashParts } from '../../core/slot';

function ids(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 300; i++) out.push(String(i));
  for (let i = 0; i < 100; i++) out.push(String(1_000_000 + i * 7919));
  out.push('', 'user-é', 'ユーザー', '👩‍💻', "o'brien", 'a'.repeat(200), ' spaced ', 'UPPER', 'u:1:2');
  return out;
}

describe('user hash and slots', () => {
  it('userHash64 equals DuckDB md5_number_lower, and buckets/slots/model tags agree with SQL', async () => {
    const users = ids();
    const buckets = 64;
    const slots = slotCount(65_000_000, buckets, 64);
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    try {
      const r = await conn.runAndReadAll(
        `SELECT s, md5_number_lower(s)::VARCHAR AS h, (md5_number_lower(s) % $b)::INTEGER AS bucket,
                (md5_number_lower(s) % $sl)::INTEGER AS slot, (md5_number_lower(s) & 65535)::INTEGER AS tag
         FROM unnest($ids) t(s)`,
        { ids: listValue(users), b: buckets, sl: slots },
      );
      const rows = r.getRowObjectsJS() as { s: string; h: string; bucket: number; slot: number; tag: number }[];
      expect(rows.length).toBe(users.length);
      for (const row of rows) {
        expect(userHash64(row.s).toString()).toBe(row.h);
        expect(bucketOf(row.s, buckets)).toBe(row.bucket);
        expect(slotOf(row.s, slots)).toBe(row.slot);
        expect(modelTagOf(row.s)).toBe(row.tag);
      }
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  });

  it('slot % buckets == bucket for every slot count slotCount gives', () => {
    const users = ids();
    for (const [n, b, per] of [[1000, 8, 64], [65_000_000, 64, 64], [28_000_000, 256, 50], [10, 4, 64], [0, 16, 64], [1_000_000, 1, 100]] as const) {
      const slots = slotCount(n, b, per);
      expect(slots % b).toBe(0);
      expect(slots).toBeGreaterThanOrEqual(b);
      expect(slots * per).toBeGreaterThanOrEqual(n);
      for (const u of users) expect(slotOf(u, slots) % b).toBe(bucketOf(u, b));
    }
  });

  it('slotCount rounds up to a multiple of buckets', () => {
    expect(slotCount(10_000, 8, 64)).toBe(8 * Math.ceil(10_000 / 512));
    expect(slotCount(1_000_000, 64, 64)).toBe(15_680);
    expect(slotCount(0, 16, 64)).toBe(16);
    expect(() => slotCount(10, 0, 64)).toThrow(RangeError);
    expect(() => slotCount(-1, 4, 64)).toThrow(RangeError);
  });

  it('hashMod is exact for small and large moduli', () => {
    for (const u of ids().slice(0, 120)) {
      const h = userHash64(u);
      const { hi, lo } = userHashParts(u);
      expect((BigInt(hi) << 32n) | BigInt(lo)).toBe(h);
      for (const m of [1, 7, 64, 15_680, 0x1fffff, 0x200001, 2 ** 31 - 1, 2 ** 40 + 3]) {
        expect(hashMod(hi, lo, m)).toBe(Number(h % BigInt(m)));
      }
    }
    expect(() => hashMod(1, 2, 0)).toThrow(RangeError);
  });
});
