/**
 * The `paydecide` command as a user runs it: bad flags and input give one-line errors and the
 * documented exit codes; the acceptance path gen → nightly → status → scores get works.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis-prefix';

const ROOT = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-'));
const prefix = testPrefix('cli');

function pd(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), ...args], {
    env: { ...process.env, PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_PREFIX: prefix, PAYDECIDE_HOME: path.join(tmp, 'home'), PAYDECIDE_LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  await dropPrefix(redis, prefix);
  redis.disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('paydecide CLI', () => {
  it('refuses bad flags with exit 2 and names the flag', () => {
    const a = pd(['gen', '--out', path.join(tmp, 'x'), '--users', 'lots']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--users must be an integer/);
    const b = pd(['nightly', '--data', tmp, '--date', '2026-02-30']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--date must be a date/);
    const c = pd(['nightly', '--date', '2026-06-30']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--data/);
  });

  it('refuses bad configuration naming the variable', () => {
    const r = pd(['status'], { PAYDECIDE_PREFIX: 'bad prefix!' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/PD_ERR_CONFIG.*PAYDECIDE_PREFIX/);
  });

  it('says Redis is unreachable (exit 3) instead of hanging', () => {
    const t = Date.now();
    const r = pd(['status', '--json'], { PAYDECIDE_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/PD_ERR_REDIS_UNREACHABLE.*127\.0\.0\.1:1/);
    expect(Date.now() - t).toBeLessThan(30_000);
  });

  it('names a missing world folder', () => {
    const r = pd(['nightly', '--data', path.join(tmp, 'nope'), '--date', '2026-06-30']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nope/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('runs gen → nightly → status → scores get as the README says', () => {
    const w = path.join(tmp, 'W');
    const g = pd(['gen', '--out', w, '--users', '2000', '--date', '2026-06-30', '--seed', '7', '--buckets', '8']);
    expect(g.code, g.err).toBe(0);
    const n = pd(['nightly', '--data', w, '--date', '2026-06-30']);
    expect(n.code, n.err).toBe(0);
    expect(n.out).toMatch(/published version/);
    const s = pd(['status', '--json']);
    expect(s.code, s.err).toBe(0);
    const st = JSON.parse(s.out);
    expect(st.live_version).toBeTruthy();
    expect(st.users).toBe(2000);
    expect(st.redis_bytes).toBeGreaterThan(0);
    const q = pd(['scores', 'get', '123', '--json']);
    expect(q.code, q.err).toBe(0);
    const rec = JSON.parse(q.out);
    expect(rec.user_id).toBe('123');
    expect(rec.version).toBe(st.live_version);
    expect(Object.keys(rec.actions).sort()).toEqual([...ACTIONS].sort());
    for (const a of ACTIONS) expect(rec.actions[a]).toHaveProperty('score');
    for (const a of ACTIONS) expect(rec.actions[a]).toHaveProperty('campaign_id');
    const miss = pd(['scores', 'get', 'no-such-user']);
    expect(miss.code).toBe(1);
    expect(miss.err).toMatch(/PD_ERR_USER_NOT_FOUND/);
  });
});
