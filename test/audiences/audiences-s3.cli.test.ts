/**
 * S3 end to end through the `paydecide` command, as a CRM team's pipeline would run it, against a
 * real S3-compatible server on loopback (test/helpers/s3-server.ts): a world generated into a
 * bucket, the nightly reading it from there and publishing audiences to another prefix, list and
 * a verified pull from S3; a bucket that does not exist and refused credentials give clear errors
 * and leave the published audiences as they were.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis-prefix';
import { startS3Server, type S3TestServer } from '../helpers/s3-server';

const ROOT = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-s3cli-'));
const prefix = testPrefix('s3cli');
const DATE = '2026-06-30';
let s3: S3TestServer;

function pd(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), ...args], {
    env: {
      ...process.env,
      PAYDECIDE_REDIS_URL: REDIS_URL,
      PAYDECIDE_PREFIX: prefix,
      PAYDECIDE_HOME: path.join(tmp, 'home'),
      PAYDECIDE_LOG_LEVEL: 'warn',
      PAYDECIDE_S3_ENDPOINT: s3.endpoint,
      PAYDECIDE_S3_ACCESS_KEY_ID: s3.settings.credentials!.accessKeyId,
      PAYDECIDE_S3_SECRET_ACCESS_KEY: s3.settings.credentials!.secretAccessKey,
      PAYDECIDE_S3_MAX_ATTEMPTS: '2',
      PAYDECIDE_AUDIENCES: 's3://crm/audiences',
      ...env,
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('worlds');
  await s3.createBucket('crm');
});

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  await dropPrefix(redis, prefix);
  redis.disconnect();
  await s3?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('audiences on S3 through the CLI', () => {
  let listed: { audience: string; date: string; rows: number }[] = [];

  it('gen → nightly → audiences list → pull, all through s3://', () => {
    const g = pd(['gen', '--out', 's3://worlds/w1', '--users', '1500', '--buckets', '4', '--date', DATE, '--seed', '3']);
    expect(g.code, g.err).toBe(0);
    expect(g.out).toContain('s3://worlds/w1');
    const n = pd(['nightly', '--data', 's3://worlds/w1', '--date', DATE]);
    expect(n.code, n.err).toBe(0);
    expect(n.out).toMatch(/audiences: \d+ published to s3:\/\/crm\/audiences/);
    const l = pd(['audiences', 'list', '--json']);
    expect(l.code, l.err).toBe(0);
    listed = JSON.parse(l.out);
    expect(listed.length).toBeGreaterThan(20);
    for (const a of listed) {
      expect(a.date).toBe(DATE);
      expect(typeof a.rows).toBe('number');
    }
    const big = listed.find((a) => a.rows > 5)!;
    const p = pd(['audiences', 'pull', big.audience, '--to', path.join(tmp, 'pulled'), '--format', 'csv', '--json']);
    expect(p.code, p.err).toBe(0);
    const r = JSON.parse(p.out);
    const csv = fs.readFileSync(r.files[0], 'utf8').trim().split('\n');
    expect(csv[0]).toBe('user_id,campaign_id,action,score,expected_value_usd,expected_cost_usd,propensity,holdout,holdout_kind');
    expect(csv.length - 1).toBe(big.rows);
    const d = pd(['audiences', 'describe', big.audience]);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/excluded by reason:/);
  });

  it('a bucket that does not exist → exit 2, PD_ERR_STORE_NOT_FOUND, published audiences unchanged', () => {
    const n = pd(['audiences', 'build', '--data', 's3://worlds/w1', '--date', DATE], { PAYDECIDE_AUDIENCES: 's3://no-such-bucket/aud' });
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/PD_ERR_STORE_NOT_FOUND.*no-such-bucket/);
    const l = pd(['audiences', 'list', '--json']);
    expect(JSON.parse(l.out)).toEqual(listed);
    const w = pd(['nightly', '--data', 's3://no-such-bucket/w', '--date', DATE]);
    expect(w.code).toBe(2);
    expect(w.err).toMatch(/PD_ERR_STORE_NOT_FOUND/);
  });

  it('refused credentials → exit 2, PD_ERR_STORE_ACCESS_DENIED, nothing half-published', () => {
    const n = pd(['audiences', 'build', '--data', 's3://worlds/w1', '--date', DATE], { PAYDECIDE_S3_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/PD_ERR_STORE_ACCESS_DENIED/);
    expect(JSON.parse(pd(['audiences', 'list', '--json']).out)).toEqual(listed);
  });

  it('pull of an audience that was never published → exit 2 naming it', () => {
    const p = pd(['audiences', 'pull', 'nobody', '--to', path.join(tmp, 'x')]);
    expect(p.code).toBe(2);
    expect(p.err).toMatch(/PD_ERR_AUDIENCE_NOT_FOUND: audience nobody/);
  });
});
