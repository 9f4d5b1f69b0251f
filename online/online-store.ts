/**
 * The online service's Redis I/O: one round trip to read what a decision needs, one atomic
 * script to record an offer, and the capped streams of decisions and outcomes.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `P:o:x:<user>` | string | the user's offers of the last 30 days, `day:campaign,…` (epoch days); expires 31 days after the last offer |
 * | `P:o:spent:<YYYY-MM-DD>` | hash | campaign id → micro-USD of expected cost granted online that day; expires after 2 days |
 *
 * Reading (`read`): a Lua script gets `P:live`, the live version's slot count and model, the
 * user's packed record, the user's offer list and today's spend per campaign: the record of
 * the live version plus the fresh counters in ONE round trip. Recording (`commit`): a Lua
 * script re-checks fatigue, the campaign's cap and cooldown and its budget against the counters
 * as they are now, and only then appends the offer and adds its cost, so concurrent requests for
 * one user can never exceed a cap or a budget.
 *
 * Redis Cluster: the per-user key and the version keys live on different shards, which one
 * script cannot read; there the service would cache the live version's slot count (as the
 * score-store note says) and send one pipeline per shard in parallel, still one network wait.
 */
import type { Redis } from 'ioredis';
import { DECISION_STREAM, OUTCOME_STREAM, STREAM_FIELD } from '../core/decision-log';
import { hashLimbs, LuaScript } from '../core/score-store';
import type { OfferHistoryEntry } from '../policy/online-offer';

/** What one read returns. */
export interface DecisionReads {
  /** The live score version, or null when nothing is live. */
  version: string | null;
  /** The model the live version was scored with ('' when unknown). */
  modelVersion: string;
  /** The user's packed record, or null when the user is not in the live version. */
  record: Buffer | null;
  history: OfferHistoryEntry[];
  /** USD granted online today per campaign id. */
  spentUsd: Map<number, number>;
}

const READ_LUA = `
local v = redis.call('GET', KEYS[1])
local hist = redis.call('GET', ARGV[1] .. ':o:x:' .. ARGV[6])
local spent = redis.call('HGETALL', ARGV[1] .. ':o:spent:' .. ARGV[7])
if not v then return {false, false, false, hist, spent} end
local m = redis.call('HMGET', ARGV[1] .. ':version:' .. v, 'slots', 'model_version')
local slots = tonumber(m[1])
local rec = false
if slots and slots >= 1 then
  local r = 0
  for i = 2, 5 do r = (r * 65536 + tonumber(ARGV[i])) % slots end
  rec = redis.call('HGET', ARGV[1] .. ':s:' .. v .. ':' .. string.format('%d', r), ARGV[6])
end
return {v, m[2], rec, hist, spent}
`;

// KEYS: user offers, today's spend. ARGV: day, campaign id, cost (micro-USD), budget (micro-USD),
// per-user cap (30 days), cooldown days, max offers in 7 days, min gap days, offers TTL, spend TTL.
const COMMIT_LUA = `
local day = tonumber(ARGV[1])
local cid = tonumber(ARGV[2])
local h = redis.call('GET', KEYS[1]) or ''
local kept = {}
local n7, nc = 0, 0
local lastAny, lastC = nil, nil
for d, c in string.gmatch(h, '(%d+):(%d+)') do
  d = tonumber(d)
  c = tonumber(c)
  local age = day - d
  if age >= 0 and age < 30 then
    kept[#kept + 1] = d .. ':' .. c
    if age < 7 then n7 = n7 + 1 end
    if not lastAny or d > lastAny then lastAny = d end
    if c == cid then
      nc = nc + 1
      if not lastC or d > lastC then lastC = d end
    end
  end
end
if n7 >= tonumber(ARGV[7]) then return 'FATIGUE_WEEKLY_OFFERS' end
if lastAny and day - lastAny < tonumber(ARGV[8]) then return 'FATIGUE_MIN_GAP' end
if nc >= tonumber(ARGV[5]) then return 'CAP_PER_USER' end
if lastC and day - lastC < tonumber(ARGV[6]) then return 'COOLDOWN' end
local spent = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if spent + tonumber(ARGV[3]) > tonumber(ARGV[4]) then return 'BUDGET_EXHAUSTED' end
kept[#kept + 1] = day .. ':' .. cid
redis.call('SET', KEYS[1], table.concat(kept, ','), 'EX', ARGV[9])
redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[10])
return 'OK'
`;

const READ = new LuaScript(READ_LUA);
const COMMIT = new LuaScript(COMMIT_LUA);

const HISTORY_TTL_S = 31 * 86400;
const SPENT_TTL_S = 2 * 86400;

/** What `commit` checks: the campaign's limits and the policy's fatigue limits. */
export interface CommitLimits {
  day: number;
  /** YYYY-MM-DD of `day`. */
  date: string;
  campaignId: number;
  costUsd: number;
  budgetUsd: number;
  perUserCap: number;
  cooldownDays: number;
  maxOffers7d: number;
  minGapDays: number;
}

/** 'OK', or the reason code of the limit the offer would break now. */
export type CommitResult = 'OK' | 'FATIGUE_WEEKLY_OFFERS' | 'FATIGUE_MIN_GAP' | 'CAP_PER_USER' | 'COOLDOWN' | 'BUDGET_EXHAUSTED';

export function parseHistory(s: string): OfferHistoryEntry[] {
  const out: OfferHistoryEntry[] = [];
  for (const part of s.split(',')) {
    const i = part.indexOf(':');
    if (i <= 0) continue;
    const day = Number(part.slice(0, i));
    const campaignId = Number(part.slice(i + 1));
    if (Number.isInteger(day) && Number.isInteger(campaignId)) out.push({ day, campaignId });
  }
  return out;
}

export class OnlineStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  /**
   * SCRIPT LOAD both scripts, so the first decision does not pay EVALSHA → NOSCRIPT → EVAL (two
   * more round trips) inside its deadline. Call on every (re)connect: a restarted Redis has none.
   */
  async loadScripts(): Promise<void> {
    for (const sc of [READ, COMMIT]) await this.redis.script('LOAD', sc.lua);
  }

  historyKey(userId: string): string {
    return `${this.prefix}:o:x:${userId}`;
  }
  spentKey(date: string): string {
    return `${this.prefix}:o:spent:${date}`;
  }
  get decisionStream(): string {
    return `${this.prefix}:${DECISION_STREAM}`;
  }
  get outcomeStream(): string {
    return `${this.prefix}:${OUTCOME_STREAM}`;
  }

  /** The live record and the user's counters, in one round trip. */
  async read(userId: string, date: string): Promise<DecisionReads> {
    const r = (await READ.run(this.redis, [`${this.prefix}:live`], [this.prefix, ...hashLimbs(userId), userId, date], true)) as (Buffer | null | Buffer[])[];
    const [v, model, rec, hist, spent] = r as [Buffer | null, Buffer | null, Buffer | null, Buffer | null, Buffer[]];
    const spentUsd = new Map<number, number>();
    for (let i = 0; i + 1 < spent.length; i += 2) spentUsd.set(Number(spent[i].toString()), Number(spent[i + 1].toString()) / 1e6);
    return {
      version: v ? v.toString() : null,
      modelVersion: model ? model.toString() : '',
      record: rec ?? null,
      history: hist ? parseHistory(hist.toString()) : [],
      spentUsd,
    };
  }

  /** Records an offer if every limit still holds (atomic). */
  async commit(userId: string, l: CommitLimits): Promise<CommitResult> {
    const r = await COMMIT.run(
      this.redis,
      [this.historyKey(userId), this.spentKey(l.date)],
      [l.day, l.campaignId, Math.round(l.costUsd * 1e6), Math.floor(l.budgetUsd * 1e6), l.perUserCap, l.cooldownDays, l.maxOffers7d, l.minGapDays, HISTORY_TTL_S, SPENT_TTL_S],
    );
    return String(r) as CommitResult;
  }

  /** Appends one JSON entry to a capped stream. */
  async append(stream: string, json: string, maxLen: number): Promise<string> {
    return (await this.redis.xadd(stream, 'MAXLEN', '~', maxLen, '*', STREAM_FIELD, json)) as string;
  }

  /** The live version's campaigns (JSON written by the nightly), or null when it has none. */
  async versionCampaigns(version: string): Promise<string | null> {
    return this.redis.hget(`${this.prefix}:version:${version}`, 'campaigns');
  }
}
