/** Fixtures of the online service tests: a hand-made live version in Redis and a private Redis to kill. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Redis } from 'ioredis';
import type { Config } from '../../core/config';
import { loadConfig } from '../../core/config';
import { encodeRecord, profileFlags } from '../../core/score-record-codec';
import { ScoreStore } from '../../core/score-store';
import { slotOf } from '../../core/slot';
import type { Campaign } from '../../policy/campaign';
import { parsePolicyConfig, type PolicyConfig } from '../../policy/policy-config';

export const API_KEY = 'test-key-0123456789';
/** 2026-07-01 12:00 UTC: every test campaign is active. */
export const NOW_MS = Date.parse('2026-07-01T12:00:00Z');

const base = { countries: ['US', 'GB'], min_kyc_tier: 0, requires_credit: false, excluded_mccs: [] as string[], budget_usd: 1_000_000, per_user_cap: 5, cooldown_days: 0, start_date: '2026-01-01', end_date: '2026-12-31' };
export const CAMPAIGNS: Campaign[] = [
  { ...base, campaign_id: 0, name: 'cashback in-app', action: 'cashback', channel: 'in_app', countries: ['US'], excluded_mccs: ['7995'], offer_cost_usd: 1, value_usd: 20 },
  { ...base, campaign_id: 1, name: 'installments in-app', action: 'installment_offer', channel: 'in_app', requires_credit: true, offer_cost_usd: 2, value_usd: 30 },
  { ...base, campaign_id: 2, name: 'cashback email', action: 'cashback', channel: 'email', offer_cost_usd: 0.1, value_usd: 100 },
  { ...base, campaign_id: 3, name: 'referral in-app, tiny budget', action: 'referral_prompt', channel: 'in_app', countries: ['CA'], budget_usd: (0.7 * 365) / 0.5, offer_cost_usd: 1, value_usd: 50 },
];

/** Deterministic policy: no exploration, no holdouts. */
export const TEST_POLICY: PolicyConfig = parsePolicyConfig({ version: 'policy-test', epsilon: 0, global_holdout: 0, campaign_holdout: 0, max_offers_7d: 3, min_gap_days: 1 });

export interface TestUser {
  id: string;
  /** Uptake per action (ACTIONS order). */
  scores: number[];
  uplift: number[];
  kycTier?: number;
  creditEligible?: boolean;
  optoutInApp?: boolean;
}

export const USERS: TestUser[] = [
  // cashback value 0.1×20 − 0.3×1 = 1.7; installments 0.05×30 − 0.2×2 = 1.1
  { id: 'u1', scores: [0.3, 0.05, 0.02, 0.1, 0.2, 0], uplift: [0.1, 0.01, 0.0, 0.02, 0.05, 0], kycTier: 2, creditEligible: true },
  { id: 'u2', scores: [0.3, 0.05, 0.02, 0.1, 0.2, 0], uplift: [0.1, 0.01, 0.0, 0.02, 0.05, 0], kycTier: 1, creditEligible: false, optoutInApp: true },
  // referral value 0.2×50 − 0.3 = 9.7 (Canada only; 0.7 USD a day online: two offers of expected cost 0.3)
  { id: 'u3', scores: [0.0, 0.3, 0.0, 0.0, 0.0, 0], uplift: [0.0, 0.2, 0.0, 0.0, 0.0, 0], kycTier: 3, creditEligible: true },
];
for (let i = 0; i < 200; i++) USERS.push({ id: `c${i}`, scores: [0.0, 0.3, 0.0, 0.0, 0.0, 0], uplift: [0.0, 0.2, 0.0, 0.0, 0.0, 0], kycTier: 3, creditEligible: true });

export function recordOf(u: TestUser, modelTag = 7): Buffer {
  return encodeRecord({ modelTag, flags: profileFlags(u.kycTier ?? 0, u.creditEligible ?? false, u.optoutInApp ?? false), scores: u.scores, uplift: u.uplift, campaigns: [0, 3, null, null, 1, null], gateBits: 0x3f });
}

/** Publishes `users` as a new live version with `campaigns` in its metadata. Returns the version id. */
export async function publishVersion(redis: Redis, prefix: string, o: { version: string; users?: TestUser[]; campaigns?: Campaign[] | null; modelVersion?: string; records?: Map<string, Buffer> }): Promise<string> {
  const store = new ScoreStore(redis, prefix);
  const users = o.users ?? USERS;
  const slots = 4;
  await store.beginVersion(o.version, { users: users.length, slots, buckets: 4, modelVersion: o.modelVersion ?? 'uplift-test', asOf: '2026-07-01' });
  const ids = users.map((u) => u.id);
  const recs = Buffer.concat(users.map((u) => o.records?.get(u.id) ?? recordOf(u)));
  await store.writeSlots(o.version, ids.map((id) => slotOf(id, slots)), ids, recs);
  if (o.campaigns !== null) await store.setVersionMeta(o.version, { campaigns: JSON.stringify(o.campaigns ?? CAMPAIGNS) });
  await store.setVersionStatus(o.version, 'validated');
  await store.flip(o.version);
  return o.version;
}

export function testConfig(prefix: string, env: Record<string, string> = {}): Config {
  return loadConfig({ PAYDECIDE_PREFIX: prefix, PAYDECIDE_API_KEYS: API_KEY, PAYDECIDE_ADJUSTER: 'off', PAYDECIDE_REDIS_URL: process.env.PAYDECIDE_REDIS_URL ?? 'redis://127.0.0.1:6379', ...env });
}

/** A pino logger writing into an array of lines (to check what was logged). */
export function capturingLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

export function body(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { request_id: 'r-1', user_id: 'u1', event: 'payment_completed', amount: 42.5, currency: 'USD', mcc: '5411', merchant_id: 'm_77', channel: 'merchant_checkout', payment_method: 'card', country: 'US', ...over };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** A redis-server of the test's own on a free port (no persistence), to kill. */
export async function startPrivateRedis(): Promise<{ url: string; port: number; proc: ChildProcess; kill(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => (c.end(), r(true)));
      c.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    proc,
    kill: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  };
}
