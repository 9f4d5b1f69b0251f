/** A unique key prefix per test and the cleanup of everything under it (never FLUSHDB: Redis is shared). */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.PAYDECIDE_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testPrefix(name: string): string {
  return `pdtest-${name}-${randomBytes(4).toString('hex')}`;
}

export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out.sort();
}

export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
}

/** DUMP of every key under a prefix (byte-exact comparison of two states). */
export async function dumpPrefix(redis: Redis, prefix: string, match = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const k of await keysUnder(redis, prefix)) {
    if (match && !k.includes(match)) continue;
    const t = await redis.type(k);
    if (t === 'hash') {
      const h = await redis.hgetallBuffer(k);
      out.set(k, Object.keys(h).sort().map((f) => `${f}=${h[f].toString('hex')}`).join(','));
    } else if (t === 'string') out.set(k, (await redis.getBuffer(k))!.toString('hex'));
    else out.set(k, t);
  }
  return out;
}
