/**
 * The versioned score layout in Redis. Every key starts with the configured prefix `P`:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P:s:<version>:<slot>` | hash | field = user_id, value = the 24-byte record (core/score-record-codec.ts) |
 * | `P:live` | string | the live version id |
 * | `P:previous` | string | the version live before it (what `rollback` returns to) |
 * | `P:version:<version>` | hash | users, slots, buckets, model_version, model_tag, as_of, created_at, status, stats (JSON) |
 * | `P:versions` | zset | version ids scored by creation time (ms) |
 *
 * Why hashes of ~64 users: one HSET per slot carrying all its users is what reached 220-283K
 * users/s on loopback (one key per user: 77K/s and 104 B/user), and while a hash stays within
 * `hash-max-listpack-entries` (default 128) and `-value` (64 B) Redis keeps it as a compact
 * listpack: ~32 B/user for 24-byte records. The slot of a user is `md5_number_lower(user_id) %
 * slots` (core/slot.ts), with `slots` a multiple of the bucket count, so chunks that own disjoint
 * bucket ranges write disjoint keys and a rerun of a chunk rewrites the same bytes.
 *
 * Readers never see a half-published version: a version is written under its own keys while
 * `building`, validated, then `flip` moves `P:live` to it in one atomic script.
 *
 * Redis Cluster (not used yet): the data keys would become `P:s:<version>:{<slot>}` so CRC16
 * spreads slots over shards (and the same slot of two versions shares a shard, which balances
 * deletes); the control keys would share one tag, `{P}:live`, `{P}:previous`,
 * `{P}:version:<v>`, `{P}:versions`, so `flip`/`rollback` stay single-shard scripts. The one
 * round-trip `readRecord` script reads a control key and a data key, which cluster forbids: the
 * online service would instead cache the live version and its slot count (refreshed every second
 * or on a keyspace notification) and send a single HGET — still one round trip.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ErrorCodes, PaydecideError } from './errors';
import { RECORD_BYTES } from './score-record-codec';
import { slotOf, userHashParts } from './slot';

export type VersionStatus = 'building' | 'validated' | 'live' | 'retired' | 'failed';
const STATUSES: readonly VersionStatus[] = ['building', 'validated', 'live', 'retired', 'failed'];

export interface VersionMetaInput {
  users: number;
  slots: number;
  buckets: number;
  modelVersion: string;
  /** The as-of date (YYYY-MM-DD) the features were computed for. */
  asOf: string;
  /** u16 tag stored in every record (score-record-codec `modelTagOf`); optional, for audit. */
  modelTag?: number;
  stats?: Record<string, unknown>;
}

export interface VersionMeta {
  version: string;
  users: number;
  slots: number;
  buckets: number;
  modelVersion: string;
  modelTag: number | null;
  asOf: string;
  createdAt: string;
  status: VersionStatus;
  /** The parsed `stats` field (JSON object). */
  stats: Record<string, unknown>;
  /** Every field of the metadata hash as stored, including any extra ones set by `setVersionMeta`. */
  raw: Record<string, string>;
}

export interface ScoreStoreOptions {
  /** HSET commands per pipeline. @defaultValue 256 */
  commandsPerPipeline?: number;
  /** Pipelines awaiting replies at once. @defaultValue 2 */
  pipelinesInFlight?: number;
  /** Most fields sent in one HSET; larger slots are split over several HSETs. @defaultValue 128 */
  maxFieldsPerCommand?: number;
}

export interface WriteSlotsOptions {
  /**
   * DEL each slot before writing it, so the slot holds exactly the given users. Only valid when
   * the call carries every user of each slot it names (a whole chunk). @defaultValue false
   */
  replace?: boolean;
}

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function checkId(what: string, v: string): void {
  if (typeof v !== 'string' || !ID_RE.test(v)) {
    throw new PaydecideError(ErrorCodes.BAD_FLAG, `${what} ${JSON.stringify(v)} must be 1-64 letters, digits, _ . -`);
  }
}

// One round trip read of the live record. KEYS[1] = P:live. ARGV: prefix, four 16-bit limbs of
// the user's 64-bit hash (high first), user id. The slot (hash mod slots) is folded limb by
// limb so every intermediate stays below 2^42, exact in Lua's doubles. Reads keys it does not
// declare: fine on a standalone Redis (see the cluster note above).
const READ_LIVE_LUA = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local slots = tonumber(redis.call('HGET', ARGV[1] .. ':version:' .. v, 'slots'))
if not slots or slots < 1 then return {v} end
local r = 0
for i = 2, 5 do r = (r * 65536 + tonumber(ARGV[i])) % slots end
return {v, redis.call('HGET', ARGV[1] .. ':s:' .. v .. ':' .. string.format('%d', r), ARGV[6])}
`;

// KEYS: live, previous, version meta of the target. ARGV: target, meta key prefix, force (1/0), now.
const FLIP_LUA = `
local st = redis.call('HGET', KEYS[3], 'status')
if not st then return redis.error_reply('PD_NO_VERSION') end
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return {'noop', cur, redis.call('GET', KEYS[2]) or ''} end
if st ~= 'validated' and not (ARGV[3] == '1' and st == 'building') then
  return redis.error_reply('PD_BAD_STATUS ' .. st)
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[3], 'status', 'live', 'live_at', ARGV[4])
if cur then
  redis.call('SET', KEYS[2], cur)
  if redis.call('EXISTS', ARGV[2] .. cur) == 1 then
    redis.call('HSET', ARGV[2] .. cur, 'status', 'retired', 'retired_at', ARGV[4])
  end
end
return {'flipped', ARGV[1], cur or ''}
`;

// KEYS: live, previous. ARGV: meta key prefix, now.
const ROLLBACK_LUA = `
local prev = redis.call('GET', KEYS[2])
if not prev then return redis.error_reply('PD_NO_ROLLBACK no previous version') end
if redis.call('EXISTS', ARGV[1] .. prev) == 0 then
  return redis.error_reply('PD_NO_ROLLBACK previous version ' .. prev .. ' no longer exists')
end
local cur = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], prev)
redis.call('HSET', ARGV[1] .. prev, 'status', 'live', 'live_at', ARGV[2])
if cur then
  redis.call('SET', KEYS[2], cur)
  if redis.call('EXISTS', ARGV[1] .. cur) == 1 then
    redis.call('HSET', ARGV[1] .. cur, 'status', 'retired', 'retired_at', ARGV[2])
  end
else
  redis.call('DEL', KEYS[2])
end
return {prev, cur or ''}
`;

// First step of deleteVersion. KEYS: live, previous, version meta. ARGV: version, now.
// Refuses the live version; forgets it as `previous`; marks it retired so `flip` refuses it.
const PREPARE_DELETE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.error_reply('PD_IS_LIVE') end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
redis.call('HSET', KEYS[3], 'status', 'retired', 'retired_at', ARGV[2])
return redis.call('HGET', KEYS[3], 'slots') or false
`;

/** ioredis' script commands (its `*Buffer` variants are missing from its typings). */
interface EvalMethods {
  evalsha(sha: string, ...args: (string | number)[]): Promise<unknown>;
  evalshaBuffer(sha: string, ...args: (string | number)[]): Promise<unknown>;
  eval(lua: string, ...args: (string | number)[]): Promise<unknown>;
  evalBuffer(lua: string, ...args: (string | number)[]): Promise<unknown>;
}

export class LuaScript {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  /** EVALSHA, loading the script with EVAL when the server does not know it yet. */
  async run(redis: Redis, keys: string[], args: (string | number)[], buffers = false): Promise<unknown> {
    // The named methods, not call()/callBuffer(): under ioredis' auto-pipelining (the online
    // client) callBuffer sends the script's sha as the command name.
    const r = redis as unknown as EvalMethods;
    const a = [keys.length, ...keys, ...args];
    try {
      return await (buffers ? r.evalshaBuffer(this.sha, ...a) : r.evalsha(this.sha, ...a));
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return buffers ? r.evalBuffer(this.lua, ...a) : r.eval(this.lua, ...a);
    }
  }
}

const READ_LIVE = new LuaScript(READ_LIVE_LUA);
const FLIP = new LuaScript(FLIP_LUA);
const ROLLBACK = new LuaScript(ROLLBACK_LUA);
const PREPARE_DELETE = new LuaScript(PREPARE_DELETE_LUA);

/** Throws the first error in a pipeline's `[err, result]` replies. */
function pipelineResults(res: [Error | null, unknown][] | null): unknown[] {
  if (!res) throw new Error('pipeline was discarded');
  const out = new Array(res.length);
  for (let i = 0; i < res.length; i++) {
    const [err, v] = res[i];
    if (err) throw err;
    out[i] = v;
  }
  return out;
}

/** Runs pipelines with at most `limit` awaiting replies; rejects with the first failure. */
class InFlight {
  private pending: Promise<void>[] = [];
  private failure: unknown = undefined;
  private failed = false;
  constructor(private readonly limit: number) {}
  async add(p: Promise<unknown>): Promise<void> {
    // A handler is attached at once so a failure is never an unhandled rejection.
    this.pending.push(
      p.then(
        () => {},
        (e) => {
          if (!this.failed) {
            this.failed = true;
            this.failure = e;
          }
        },
      ),
    );
    if (this.pending.length >= this.limit) await this.pending.shift();
    if (this.failed) throw this.failure;
  }
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.pending = [];
    if (this.failed) throw this.failure;
  }
}

export class ScoreStore {
  private readonly commandsPerPipeline: number;
  private readonly pipelinesInFlight: number;
  private readonly maxFields: number;
  /** Slot counts of versions seen by this process; a version's slot count never changes. */
  private readonly slotsCache = new Map<string, number>();

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
    opts: ScoreStoreOptions = {},
  ) {
    checkId('prefix', prefix);
    this.commandsPerPipeline = opts.commandsPerPipeline ?? 256;
    this.pipelinesInFlight = opts.pipelinesInFlight ?? 2;
    this.maxFields = opts.maxFieldsPerCommand ?? 128;
  }

  // ---- key names ----
  get liveKey(): string {
    return `${this.prefix}:live`;
  }
  get previousKey(): string {
    return `${this.prefix}:previous`;
  }
  get versionsKey(): string {
    return `${this.prefix}:versions`;
  }
  versionKey(v: string): string {
    return `${this.prefix}:version:${v}`;
  }
  slotKey(v: string, slot: number): string {
    return `${this.prefix}:s:${v}:${slot}`;
  }

  // ---- versions ----

  /**
   * Registers version `v` as `building`. Calling it again for a version that is building,
   * validated or failed (a resumed run) keeps its data and creation time but must give the same
   * slot count; a live or retired version is refused.
   */
  async beginVersion(v: string, meta: VersionMetaInput): Promise<VersionMeta> {
    checkId('version', v);
    for (const k of ['users', 'slots', 'buckets'] as const) {
      if (!Number.isInteger(meta[k]) || meta[k] < (k === 'users' ? 0 : 1)) throw new RangeError(`${k} must be a ${k === 'users' ? 'non-negative' : 'positive'} integer, got ${meta[k]}`);
    }
    if (meta.slots % meta.buckets !== 0) throw new RangeError(`slots (${meta.slots}) must be a multiple of buckets (${meta.buckets})`);
    const existing = await this.versionMeta(v);
    if (existing) {
      // A retired version may be `previous` (rollback target): rebuilding it would let a rollback
      // publish a half-written version.
      if (existing.status === 'live' || existing.status === 'retired') {
        throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} is ${existing.status} and cannot be rebuilt; delete it first`);
      }
      if (existing.slots !== meta.slots) {
        throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} exists with ${existing.slots} slots, not ${meta.slots}; delete it first`);
      }
    }
    const now = new Date();
    const fields: Record<string, string> = {
      users: String(meta.users),
      slots: String(meta.slots),
      buckets: String(meta.buckets),
      model_version: meta.modelVersion,
      as_of: meta.asOf,
      status: 'building',
      stats: JSON.stringify(meta.stats ?? existing?.stats ?? {}),
    };
    if (meta.modelTag !== undefined) fields.model_tag = String(meta.modelTag);
    const key = this.versionKey(v);
    pipelineResults(
      await this.redis
        .multi()
        .hset(key, fields)
        .hsetnx(key, 'created_at', now.toISOString())
        .zadd(this.versionsKey, 'NX', now.getTime(), v)
        .exec(),
    );
    this.slotsCache.set(v, meta.slots);
    return (await this.versionMeta(v))!;
  }

  /** Sets a version's status (not `live`: use `flip`), merging `stats` into its stats JSON. */
  async setVersionStatus(v: string, status: Exclude<VersionStatus, 'live'>, stats?: Record<string, unknown>): Promise<VersionMeta> {
    checkId('version', v);
    if (!STATUSES.includes(status) || status === ('live' as VersionStatus)) throw new RangeError(`cannot set status ${status}; use flip() to make a version live`);
    const m = await this.versionMeta(v);
    if (!m) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `score version ${v} does not exist`);
    if (m.status === 'live') throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} is live; flip or roll back first`);
    const fields: Record<string, string> = { status, [`${status}_at`]: new Date().toISOString() };
    if (stats) fields.stats = JSON.stringify({ ...m.stats, ...stats });
    await this.redis.hset(this.versionKey(v), fields);
    return (await this.versionMeta(v))!;
  }

  /**
   * Sets raw fields of a version's metadata hash (e.g. `{ status: 'validated', stats: JSON }` or
   * extra audit fields). `status` must be a known status other than `live` (use `flip`), and a
   * live version's status cannot be changed here.
   */
  async setVersionMeta(v: string, fields: Record<string, string>): Promise<void> {
    checkId('version', v);
    const key = this.versionKey(v);
    if (fields.status !== undefined) {
      const st = fields.status as VersionStatus;
      if (!STATUSES.includes(st) || st === 'live') throw new RangeError(`cannot set status ${fields.status}; use flip() to make a version live`);
      const cur = await this.redis.hget(key, 'status');
      if (cur === null) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `score version ${v} does not exist`);
      if (cur === 'live') throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} is live; flip or roll back first`);
    } else if ((await this.redis.exists(key)) === 0) {
      throw new PaydecideError(ErrorCodes.INPUT_MISSING, `score version ${v} does not exist`);
    }
    if (fields.slots !== undefined) throw new RangeError('the slot count of a version cannot change');
    if (fields.stats !== undefined) JSON.parse(fields.stats);
    if (Object.keys(fields).length > 0) await this.redis.hset(key, fields);
  }

  async versionMeta(v: string): Promise<VersionMeta | null> {
    checkId('version', v);
    const h = await this.redis.hgetall(this.versionKey(v));
    if (!h || !h.status) return null;
    let stats: Record<string, unknown> = {};
    try {
      stats = h.stats ? (JSON.parse(h.stats) as Record<string, unknown>) : {};
    } catch {
      stats = { unparsable: h.stats };
    }
    return {
      version: v,
      users: Number(h.users),
      slots: Number(h.slots),
      buckets: Number(h.buckets),
      modelVersion: h.model_version ?? '',
      modelTag: h.model_tag !== undefined ? Number(h.model_tag) : null,
      asOf: h.as_of ?? '',
      createdAt: h.created_at ?? '',
      status: h.status as VersionStatus,
      stats,
      raw: h,
    };
  }

  /** All registered versions, newest first. */
  async listVersions(): Promise<VersionMeta[]> {
    const ids = await this.redis.zrevrange(this.versionsKey, 0, -1);
    const metas = await Promise.all(ids.map((v) => this.versionMeta(v)));
    return metas.filter((m): m is VersionMeta => m !== null);
  }

  async liveVersion(): Promise<string | null> {
    return this.redis.get(this.liveKey);
  }

  async previousVersion(): Promise<string | null> {
    return this.redis.get(this.previousKey);
  }

  private async slotsOf(v: string): Promise<number | null> {
    const cached = this.slotsCache.get(v);
    if (cached !== undefined) return cached;
    const s = await this.redis.hget(this.versionKey(v), 'slots');
    if (s === null) return null;
    const n = Number(s);
    this.slotsCache.set(v, n);
    return n;
  }

  // ---- writing ----

  /**
   * Writes users' records into version `v`: one HSET per slot carrying all of that slot's users
   * in this call, pipelined. `slotIds[i]` is the slot of `userIds[i]` (as computed by SQL or
   * `slotOf`), `records` holds the n×24 record bytes in the same order. Input grouped by slot
   * (sorted) is used as is; otherwise it is grouped here. Idempotent: the same input leaves the
   * same bytes. Returns the record bytes written (n × 24).
   */
  async writeSlots(v: string, slotIds: Uint32Array | number[], userIds: string[], records: Buffer, opts: WriteSlotsOptions = {}): Promise<number> {
    checkId('version', v);
    const n = userIds.length;
    if (slotIds.length !== n) throw new RangeError(`slotIds has ${slotIds.length} entries for ${n} users`);
    if (records.length !== n * RECORD_BYTES) throw new RangeError(`records has ${records.length} bytes, expected ${n * RECORD_BYTES}`);
    if (n === 0) return 0;
    const [status, slotsStr] = await this.redis.hmget(this.versionKey(v), 'status', 'slots');
    if (status === null || slotsStr === null) throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} was not begun (beginVersion)`);
    if (status !== 'building') throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} is ${status}; only a building version can be written`);
    const slots = Number(slotsStr);
    this.slotsCache.set(v, slots);

    let sorted = true;
    for (let i = 0; i < n; i++) {
      const s = slotIds[i];
      if (!(s >= 0 && s < slots) || !Number.isInteger(s)) throw new RangeError(`slot ${s} of user ${userIds[i]} is outside 0..${slots - 1}`);
      if (i > 0 && s < slotIds[i - 1]) sorted = false;
    }
    const order = sorted ? null : groupOrder(slotIds);

    const flight = new InFlight(this.pipelinesInFlight);
    let pipe = this.redis.pipeline();
    let commands = 0;
    const replace = opts.replace ?? false;
    let i = 0;
    while (i < n) {
      const first = order ? order[i] : i;
      const slot = slotIds[first];
      const key = this.slotKey(v, slot);
      if (replace) {
        pipe.del(key);
        commands++;
      }
      // One HSET per run of users in this slot (split past maxFields, which only an oversized slot reaches).
      let args: (string | Buffer)[] = [];
      for (; i < n; i++) {
        const u = order ? order[i] : i;
        if (slotIds[u] !== slot) break;
        if (args.length === 2 * this.maxFields) {
          pipe.hset(key, ...args);
          commands++;
          args = [];
        }
        args.push(userIds[u], records.subarray(u * RECORD_BYTES, (u + 1) * RECORD_BYTES));
      }
      pipe.hset(key, ...args);
      commands++;
      if (commands >= this.commandsPerPipeline) {
        await flight.add(pipe.exec().then(pipelineResults));
        pipe = this.redis.pipeline();
        commands = 0;
      }
    }
    if (commands > 0) await flight.add(pipe.exec().then(pipelineResults));
    await flight.drain();
    return n * RECORD_BYTES;
  }

  // ---- reading ----

  /**
   * The live record of a user in one round trip (a Lua script reads `P:live`, the version's slot
   * count and the HGET). Null when no version is live or the user is not in it.
   */
  async readRecord(userId: string): Promise<{ version: string; record: Buffer } | null> {
    const limbs = hashLimbs(userId);
    const r = (await READ_LIVE.run(this.redis, [this.liveKey], [this.prefix, ...limbs, userId], true)) as Buffer[] | null;
    if (!r || !r[1]) return null;
    return { version: r[0].toString(), record: r[1] };
  }

  /** A user's record in a given version (one HGET once the version's slot count is cached). */
  async readRecordAt(version: string, userId: string): Promise<{ version: string; record: Buffer } | null> {
    checkId('version', version);
    const slots = await this.slotsOf(version);
    if (slots === null) return null;
    const rec = await this.redis.hgetBuffer(this.slotKey(version, slotOf(userId, slots)), userId);
    return rec ? { version, record: rec } : null;
  }

  // ---- publishing ----

  /**
   * Makes `v` live atomically: `P:live` = v, `P:previous` = the old live version (now `retired`,
   * data kept for rollback). `v` must be `validated` (or `building` with `force`). Flipping to
   * the live version is a no-op.
   */
  async flip(v: string, opts: { force?: boolean } = {}): Promise<{ live: string; previous: string | null; changed: boolean }> {
    checkId('version', v);
    let r: string[];
    try {
      r = (await FLIP.run(this.redis, [this.liveKey, this.previousKey, this.versionKey(v)], [v, `${this.prefix}:version:`, opts.force ? '1' : '0', new Date().toISOString()])) as string[];
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (msg.includes('PD_NO_VERSION')) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `score version ${v} does not exist`, { cause: e });
      if (msg.includes('PD_BAD_STATUS')) {
        const st = msg.split('PD_BAD_STATUS ')[1] ?? '?';
        throw new PaydecideError(ErrorCodes.VALIDATION_FAILED, `score version ${v} is ${st}, not validated; refusing to make it live`, { cause: e, details: { status: st } });
      }
      throw e;
    }
    return { live: r[1], previous: r[2] || null, changed: r[0] === 'flipped' };
  }

  /** Swaps live and previous (a second rollback undoes the first). NO_ROLLBACK when there is no previous version. */
  async rollback(): Promise<{ live: string; previous: string | null }> {
    let r: string[];
    try {
      r = (await ROLLBACK.run(this.redis, [this.liveKey, this.previousKey], [`${this.prefix}:version:`, new Date().toISOString()])) as string[];
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (msg.includes('PD_NO_ROLLBACK')) throw new PaydecideError(ErrorCodes.NO_ROLLBACK, `cannot roll back: ${msg.split('PD_NO_ROLLBACK ')[1] ?? 'no previous version'}`, { cause: e });
      throw e;
    }
    return { live: r[0], previous: r[1] || null };
  }

  // ---- deleting ----

  /**
   * Deletes version `v`: its slot keys (UNLINK in batches; slot count from its metadata, or a
   * SCAN of `P:s:<v>:*` when the metadata is gone), its metadata and its `P:versions` entry.
   * Refuses the live version; deleting the previous version forgets it (no rollback to it).
   * Returns the number of keys removed.
   */
  async deleteVersion(v: string): Promise<number> {
    checkId('version', v);
    let slotsStr: string | null;
    try {
      slotsStr = (await PREPARE_DELETE.run(this.redis, [this.liveKey, this.previousKey, this.versionKey(v)], [v, new Date().toISOString()])) as string | null;
    } catch (e) {
      if (e instanceof Error && e.message.includes('PD_IS_LIVE')) throw new PaydecideError(ErrorCodes.RUN_FAILED, `score version ${v} is live; flip or roll back before deleting it`, { cause: e });
      throw e;
    }
    const BATCH = 500;
    let removed = 0;
    const slots = slotsStr === null ? NaN : Number(slotsStr);
    if (Number.isInteger(slots) && slots > 0) {
      const flight = new InFlight(this.pipelinesInFlight);
      const counts: number[] = [];
      let pipe = this.redis.pipeline();
      let cmds = 0;
      for (let s = 0; s < slots; s += BATCH) {
        const keys: string[] = [];
        for (let k = s; k < Math.min(slots, s + BATCH); k++) keys.push(this.slotKey(v, k));
        pipe.unlink(...keys);
        if (++cmds >= 16) {
          await flight.add(pipe.exec().then((r) => counts.push(...(pipelineResults(r) as number[]))));
          pipe = this.redis.pipeline();
          cmds = 0;
        }
      }
      if (cmds > 0) await flight.add(pipe.exec().then((r) => counts.push(...(pipelineResults(r) as number[]))));
      await flight.drain();
      removed += counts.reduce((a, b) => a + b, 0);
    } else {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:s:${v}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) removed += await this.redis.unlink(...keys);
      } while (cursor !== '0');
    }
    const r = pipelineResults(await this.redis.multi().del(this.versionKey(v)).zrem(this.versionsKey, v).exec());
    removed += r[0] as number;
    this.slotsCache.delete(v);
    return removed;
  }

  /** Deletes versions older than the newest `keep` that are neither live nor previous. Returns them. */
  async retireOld(keep: number): Promise<string[]> {
    if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`keep must be a non-negative integer, got ${keep}`);
    const [ids, live, prev] = await Promise.all([this.redis.zrevrange(this.versionsKey, 0, -1), this.liveVersion(), this.previousVersion()]);
    const deleted: string[] = [];
    for (const v of ids.slice(keep)) {
      if (v === live || v === prev) continue;
      await this.deleteVersion(v);
      deleted.push(v);
    }
    return deleted;
  }

  // ---- measuring ----

  /**
   * Redis memory of a version's data: MEMORY USAGE (SAMPLES 0, i.e. exact per key) of every slot
   * key, or of `sample` random ones scaled to all slots when there are more (a 1M-user version
   * has ~16K slots: exact; a 200-key sample wandered ±0.5 bytes/user). 0 for an unknown version.
   */
  async versionBytes(v: string, sample = 20_000): Promise<number> {
    checkId('version', v);
    const slots = await this.slotsOf(v);
    if (!slots) return 0;
    const picked = pickSlots(slots, sample);
    const flight = new InFlight(this.pipelinesInFlight);
    let sum = 0;
    for (let i = 0; i < picked.length; i += 1000) {
      const pipe = this.redis.pipeline();
      for (const s of picked.slice(i, i + 1000)) pipe.memory('USAGE', this.slotKey(v, s), 'SAMPLES', 0);
      await flight.add(pipe.exec().then((r) => { for (const x of pipelineResults(r) as (number | null)[]) sum += x ?? 0; }));
    }
    await flight.drain();
    return Math.round((sum / picked.length) * slots);
  }

  /** Users stored in a version: the sum of HLEN over its slots (pipelined). */
  async countUsers(v: string): Promise<number> {
    checkId('version', v);
    const slots = await this.slotsOf(v);
    if (!slots) return 0;
    const flight = new InFlight(this.pipelinesInFlight);
    let total = 0;
    const BATCH = 1000;
    for (let s = 0; s < slots; s += BATCH) {
      const pipe = this.redis.pipeline();
      for (let k = s; k < Math.min(slots, s + BATCH); k++) pipe.hlen(this.slotKey(v, k));
      await flight.add(pipe.exec().then((r) => { for (const x of pipelineResults(r) as number[]) total += x; }));
    }
    await flight.drain();
    return total;
  }
}

/** The user's 64-bit slot hash (core/slot.ts) as four 16-bit limbs, high first, for the Lua fold. */
export function hashLimbs(userId: string): [number, number, number, number] {
  const { hi, lo } = userHashParts(userId);
  return [hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff];
}

/** Indices 0..n-1 ordered by slot (stable), without a comparator when n < 2^21. */
export function groupOrder(slotIds: Uint32Array | number[]): Uint32Array {
  const n = slotIds.length;
  const order = new Uint32Array(n);
  if (n < 0x200000) {
    // slot·2^21 + i < 2^53 for slots < 2^32: a native numeric sort of packed keys.
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = slotIds[i] * 0x200000 + i;
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = packed[i] % 0x200000;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => slotIds[a] - slotIds[b] || a - b);
}

/** Up to `k` distinct slot indices out of `n`, chosen at random (all of them when n ≤ k). */
function pickSlots(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < k) picked.add(Math.floor(Math.random() * n));
  return [...picked];
}
