import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { closeRedis, connectRedis, type Redis } from '../../core/redis';
import { decodeRecord, encodeRecords, modelTagOf, RECORD_BYTES } from '../../core/score-record-codec';
import { ScoreStore } from '../../core/score-store';
import { slotCount, slotOf } from '../../core/slot';

const URL = 'redis://127.0.0.1:6379';
let redis: Redis;
const prefixes: string[] = [];

function newPrefix(): string {
  const p = `pdtest-${randomBytes(6).toString('hex')}`;
  prefixes.push(p);
  return p;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

async function dropPrefix(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
}

/** A chunk of n users ("0".."n-1") with deterministic records, in arbitrary (id) order. */
function chunk(n: number, slots: number, seed = 1) {
  const userIds = Array.from({ length: n }, (_, i) => String(i));
  const slotIds = new Uint32Array(n);
  for (let i = 0; i < n; i++) slotIds[i] = slotOf(userIds[i], slots);
  const scores = new Float32Array(n * 6);
  const campaigns = new Uint8Array(n * 6);
  const gates = new Uint8Array(n);
  const flags = new Uint8Array(n);
  for (let i = 0; i < n * 6; i++) {
    scores[i] = ((i * 2654435761 + seed * 97) % 10007) / 10007;
    campaigns[i] = (i + seed) % 7 === 0 ? 0xff : (i + seed) % 40;
  }
  for (let u = 0; u < n; u++) {
    gates[u] = (u * 31 + seed) & 63;
    flags[u] = u % 13 === 0 ? 1 : 0;
  }
  const records = encodeRecords(n, scores, scores.map((v) => v - 0.5), campaigns, gates, flags, modelTagOf(`m${seed}`));
  return { userIds, slotIds, records };
}

/** Sorted copy of a chunk (grouped by slot). */
function sortedChunk(c: ReturnType<typeof chunk>) {
  const idx = Array.from(c.userIds.keys()).sort((a, b) => c.slotIds[a] - c.slotIds[b] || a - b);
  const records = Buffer.alloc(c.records.length);
  idx.forEach((u, k) => c.records.copy(records, k * RECORD_BYTES, u * RECORD_BYTES, (u + 1) * RECORD_BYTES));
  return { userIds: idx.map((u) => c.userIds[u]), slotIds: Uint32Array.from(idx, (u) => c.slotIds[u]), records };
}

async function dumpVersion(store: ScoreStore, v: string, slots: number): Promise<{ all: string[]; dumps: string[] }> {
  const pipe = redis.pipeline();
  for (let s = 0; s < slots; s++) pipe.hgetallBuffer(store.slotKey(v, s));
  const pipe2 = redis.pipeline();
  for (let s = 0; s < slots; s++) pipe2.dumpBuffer(store.slotKey(v, s));
  const [a, b] = await Promise.all([pipe.exec(), pipe2.exec()]);
  const all = a!.map(([, h]) => JSON.stringify(Object.entries(h as Record<string, Buffer>).map(([k, val]) => [k, val.toString('hex')])));
  // DUMP's payload ends with an RDB version + CRC, identical for identical encodings.
  const dumps = b!.map(([, d]) => (d ? (d as Buffer).toString('hex') : ''));
  return { all, dumps };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(PaydecideError);
  expect((e as PaydecideError).code).toBe(code);
}

const N = 10_000;
const BUCKETS = 8;
const SLOTS = slotCount(N, BUCKETS, 64);
const meta = (over: Partial<{ users: number; slots: number }> = {}) => ({ users: N, slots: SLOTS, buckets: BUCKETS, modelVersion: 'm1', asOf: '2024-03-01', ...over });

beforeAll(async () => {
  redis = await connectRedis(URL, { connectTimeoutMs: 2000 });
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) {
    await dropPrefix(p);
    expect(await keysUnder(p)).toEqual([]);
  }
});
afterAll(async () => {
  await closeRedis(redis);
});

describe('connectRedis', () => {
  it('fails fast with REDIS_UNREACHABLE naming the URL', async () => {
    const t = Date.now();
    const e = await connectRedis('redis://:hunter2@127.0.0.1:1', { connectTimeoutMs: 1000 }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(PaydecideError);
    expect((e as PaydecideError).code).toBe(ErrorCodes.REDIS_UNREACHABLE);
    expect((e as PaydecideError).message).toContain('redis://:***@127.0.0.1:1');
    expect((e as PaydecideError).message).not.toContain('hunter2');
    expect(Date.now() - t).toBeLessThan(3000);
  });
});

describe('ScoreStore', () => {
  it('writes 10k users, reads them back, and a rewrite leaves identical bytes', async () => {
    const store = new ScoreStore(redis, newPrefix());
    await store.beginVersion('v1', meta());
    const c = chunk(N, SLOTS);
    expect(await store.writeSlots('v1', c.slotIds, c.userIds, c.records)).toBe(N * RECORD_BYTES);
    expect(await store.countUsers('v1')).toBe(N);
    // Every user is in its slot's hash with its exact record bytes.
    const pipe = redis.pipeline();
    for (let sl = 0; sl < SLOTS; sl++) pipe.hgetallBuffer(store.slotKey('v1', sl));
    const hashes = (await pipe.exec())!.map(([, h]) => h as Record<string, Buffer>);
    let seen = 0;
    hashes.forEach((h, sl) => {
      for (const [u, rec] of Object.entries(h)) {
        const i = Number(u);
        expect(c.slotIds[i]).toBe(sl);
        expect(rec.equals(c.records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))).toBe(true);
        seen++;
      }
    });
    expect(seen).toBe(N);
    // And the point read finds them.
    const some = c.userIds.filter((_, i) => i % 20 === 0);
    const got = await Promise.all(some.map((u) => store.readRecordAt('v1', u)));
    got.forEach((g, k) => expect(g!.record.equals(c.records.subarray(k * 20 * RECORD_BYTES, (k * 20 + 1) * RECORD_BYTES))).toBe(true));
    expect(decodeRecord(got[0]!.record).modelTag).toBe(modelTagOf('m1'));
    expect(await store.readRecordAt('v1', 'nobody')).toBeNull();
    // No live version yet.
    expect(await store.readRecord('0')).toBeNull();

    const before = await dumpVersion(store, 'v1', SLOTS);
    // Same chunk again, unsorted; then pre-sorted; then with replace: the same bytes every time.
    await store.writeSlots('v1', c.slotIds, c.userIds, c.records);
    expect(await dumpVersion(store, 'v1', SLOTS)).toEqual(before);
    const s = sortedChunk(c);
    await store.writeSlots('v1', s.slotIds, s.userIds, s.records);
    expect(await dumpVersion(store, 'v1', SLOTS)).toEqual(before);
    await store.writeSlots('v1', s.slotIds, s.userIds, s.records, { replace: true });
    expect((await dumpVersion(store, 'v1', SLOTS)).all).toEqual(before.all);

    // Hashes stay listpack-encoded.
    for (let sl = 0; sl < SLOTS; sl += 17) expect(await redis.object('ENCODING', store.slotKey('v1', sl))).toBe('listpack');
  });

  it('stores at most the record + 12 bytes per user (MEMORY USAGE sample)', async () => {
    const store = new ScoreStore(redis, newPrefix());
    await store.beginVersion('v1', meta());
    const c = chunk(N, SLOTS);
    await store.writeSlots('v1', c.slotIds, c.userIds, c.records);
    const bytes = await store.versionBytes('v1');
    const perUser = bytes / (await store.countUsers('v1'));
    expect(perUser).toBeGreaterThan(RECORD_BYTES);
    // listpack overhead: the field (user id), two length bytes per entry, the hash's own header
    expect(perUser).toBeLessThanOrEqual(RECORD_BYTES + 12);
  });

  it('refuses bad writes: unknown version, slot out of range, length mismatch, non-building version', async () => {
    const store = new ScoreStore(redis, newPrefix());
    const c = chunk(10, SLOTS);
    await expectCode(store.writeSlots('nov', c.slotIds, c.userIds, c.records), ErrorCodes.RUN_FAILED);
    await store.beginVersion('v1', meta());
    await expect(store.writeSlots('v1', Uint32Array.of(SLOTS), ['x'], c.records.subarray(0, RECORD_BYTES))).rejects.toThrow(RangeError);
    await expect(store.writeSlots('v1', c.slotIds, c.userIds, c.records.subarray(0, RECORD_BYTES))).rejects.toThrow(RangeError);
    await expect(store.writeSlots('bad:id', c.slotIds, c.userIds, c.records)).rejects.toThrow(PaydecideError);
    await store.setVersionStatus('v1', 'validated');
    await expectCode(store.writeSlots('v1', c.slotIds, c.userIds, c.records), ErrorCodes.RUN_FAILED);
    await expect(store.beginVersion('v1', meta({ slots: SLOTS * 2 }))).rejects.toThrow(/slots/);
  });

  it('flip and rollback swap live and previous atomically, with statuses', async () => {
    const store = new ScoreStore(redis, newPrefix());
    const c1 = chunk(500, SLOTS, 1);
    const c2 = chunk(500, SLOTS, 2);
    await store.beginVersion('v1', meta({ users: 500 }));
    await store.writeSlots('v1', c1.slotIds, c1.userIds, c1.records);
    await expectCode(store.flip('v1'), ErrorCodes.VALIDATION_FAILED); // still building
    await expectCode(store.flip('v9'), ErrorCodes.INPUT_MISSING);
    await expectCode(store.rollback(), ErrorCodes.NO_ROLLBACK);
    await store.setVersionStatus('v1', 'validated', { mean: 0.1 });
    expect(await store.flip('v1')).toEqual({ live: 'v1', previous: null, changed: true });
    expect(await store.liveVersion()).toBe('v1');
    expect(await store.previousVersion()).toBeNull();
    expect((await store.versionMeta('v1'))!.status).toBe('live');
    expect((await store.versionMeta('v1'))!.stats).toEqual({ mean: 0.1 });
    await expectCode(store.rollback(), ErrorCodes.NO_ROLLBACK);
    expect((await store.flip('v1')).changed).toBe(false);

    await store.beginVersion('v2', meta({ users: 500 }));
    await store.writeSlots('v2', c2.slotIds, c2.userIds, c2.records);
    await store.setVersionMeta('v2', { status: 'validated', stats: JSON.stringify({ mean: 0.2 }), checks: '[]' });
    expect((await store.versionMeta('v2'))!.raw.checks).toBe('[]');
    expect(await store.flip('v2')).toEqual({ live: 'v2', previous: 'v1', changed: true });
    expect((await store.versionMeta('v1'))!.status).toBe('retired');
    expect((await store.versionMeta('v2'))!.status).toBe('live');
    const r = await store.readRecord('42');
    expect(r!.version).toBe('v2');
    expect(r!.record.equals(c2.records.subarray(42 * RECORD_BYTES, 43 * RECORD_BYTES))).toBe(true);
    expect(await store.readRecord('no-such-user')).toBeNull();
    await expect(store.setVersionMeta('v2', { status: 'failed' })).rejects.toThrow(PaydecideError);
    await expect(store.setVersionMeta('v1', { status: 'live' })).rejects.toThrow(RangeError);
    await expectCode(store.deleteVersion('v2'), ErrorCodes.RUN_FAILED); // live

    expect(await store.rollback()).toEqual({ live: 'v1', previous: 'v2' });
    expect((await store.readRecord('42'))!.record.equals(c1.records.subarray(42 * RECORD_BYTES, 43 * RECORD_BYTES))).toBe(true);
    expect((await store.versionMeta('v1'))!.status).toBe('live');
    expect((await store.versionMeta('v2'))!.status).toBe('retired');
    expect(await store.rollback()).toEqual({ live: 'v2', previous: 'v1' });

    // Deleting the previous version forgets it: no rollback to missing data.
    await store.deleteVersion('v1');
    expect(await store.previousVersion()).toBeNull();
    await expectCode(store.rollback(), ErrorCodes.NO_ROLLBACK);
    expect(await store.liveVersion()).toBe('v2');
  });

  it('readRecord computes the same slot in Lua as slotOf for a 65M-user slot count', async () => {
    const store = new ScoreStore(redis, newPrefix());
    const slots = slotCount(65_000_000, 64, 64);
    await store.beginVersion('big', { users: 65_000_000, slots, buckets: 64, modelVersion: 'm', asOf: '2024-03-01' });
    const users = Array.from({ length: 300 }, (_, i) => `user-${i * 104729}`);
    const c = chunk(300, slots);
    await store.writeSlots('big', users.map((u) => slotOf(u, slots)), users, c.records);
    await store.flip('big', { force: true });
    const got = await Promise.all(users.map((u) => store.readRecord(u)));
    got.forEach((g, i) => expect(g?.record.equals(c.records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))).toBe(true));
  });

  it('deleteVersion removes every key, with or without metadata; retireOld keeps live and previous', async () => {
    const p = newPrefix();
    const store = new ScoreStore(redis, p);
    const c = chunk(2000, SLOTS);
    for (const v of ['a', 'b', 'c', 'd']) {
      await store.beginVersion(v, meta({ users: 2000 }));
      await store.writeSlots(v, c.slotIds, c.userIds, c.records);
      await new Promise((r) => setTimeout(r, 5)); // distinct creation times
    }
    const removed = await store.deleteVersion('d');
    expect(removed).toBe(SLOTS + 1); // every slot is non-empty at ~12 users/slot, plus the metadata hash
    expect(await keysUnder(`${p}:s:d`)).toEqual([]);
    expect(await store.versionMeta('d')).toBeNull();
    expect(await redis.zscore(store.versionsKey, 'd')).toBeNull();

    // Metadata gone: falls back to SCAN.
    await redis.del(store.versionKey('c'));
    expect(await store.deleteVersion('c')).toBe(SLOTS);
    expect(await keysUnder(`${p}:s:c`)).toEqual([]);

    // a = previous, b = live; keep 0 still keeps both.
    await store.setVersionStatus('a', 'validated');
    await store.flip('a');
    await store.setVersionStatus('b', 'validated');
    await store.flip('b');
    expect(await store.retireOld(0)).toEqual([]);
    await store.beginVersion('e', meta({ users: 2000 }));
    await store.writeSlots('e', c.slotIds, c.userIds, c.records);
    await store.beginVersion('f', meta({ users: 0 }));
    // newest 1 = f; e is neither live nor previous → deleted.
    expect(await store.retireOld(1)).toEqual(['e']);
    expect((await store.listVersions()).map((m) => m.version)).toEqual(['f', 'b', 'a']);
    const left = new Set((await keysUnder(`${p}:s`)).map((k) => k.split(':')[2]));
    expect([...left].sort()).toEqual(['a', 'b']);
  });

  it('two prefixes never touch each other’s keys', async () => {
    const pa = newPrefix();
    const pb = newPrefix();
    const a = new ScoreStore(redis, pa);
    const b = new ScoreStore(redis, pb);
    const c = chunk(1000, SLOTS);
    for (const s of [a, b]) {
      await s.beginVersion('v1', meta({ users: 1000 }));
      await s.writeSlots('v1', c.slotIds, c.userIds, c.records);
    }
    const before = (await keysUnder(pb)).sort();
    await a.flip('v1', { force: true });
    expect(await b.liveVersion()).toBeNull();
    expect(await b.readRecord('1')).toBeNull();
    expect((await a.readRecord('1'))!.version).toBe('v1');
    await a.setVersionMeta('v1', { note: 'x' });
    expect(await a.deleteVersion('v1').catch((e: unknown) => e)).toBeInstanceOf(PaydecideError); // live in a
    expect((await keysUnder(pb)).sort()).toEqual(before);
    expect(await b.countUsers('v1')).toBe(1000);
    expect((await b.versionMeta('v1'))!.status).toBe('building');
    expect((await keysUnder(pa)).every((k) => k.startsWith(`${pa}:`))).toBe(true);
  });
});
