/** The delay proxy of the online benchmark and the service's deadline tests, in front of the real Redis. */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../../scripts/bench/tcp-delay-proxy';
import { REDIS_URL } from '../helpers/redis-prefix';

const target = (() => {
  const u = new URL(REDIS_URL);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
})();
/** user:password@ and /db of PAYDECIDE_REDIS_URL, so the proxied URL reaches the same Redis. */
const auth = (() => {
  const u = new URL(REDIS_URL);
  return { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password), db: u.pathname };
})();
const proxiedUrl = (p: DelayProxy) => {
  const u = new URL(p.url(auth.db === '/' ? '' : auth.db));
  u.username = auth.user;
  u.password = auth.pass;
  return u.toString();
};

let proxy: DelayProxy | null = null;
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await proxy?.close();
  proxy = null;
});

function client(p: DelayProxy): Redis {
  const c = new Redis(proxiedUrl(p), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

async function timedPing(c: Redis): Promise<{ reply: string; ms: number }> {
  const t = performance.now();
  const reply = await c.ping();
  return { reply, ms: performance.now() - t };
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
}

describe('startDelayProxy', () => {
  it('adds at least the delay to a PING and still returns PONG; setDelay(0) passes replies straight on', async () => {
    proxy = await startDelayProxy({ target, delayMs: 200 });
    const c = client(proxy);
    await c.connect();
    const slow = await timedPing(c);
    expect(slow.reply).toBe('PONG');
    expect(slow.ms).toBeGreaterThanOrEqual(200);

    proxy.setDelay(0);
    const fast = await timedPing(c);
    expect(fast.reply).toBe('PONG');
    // not a timing benchmark: only that the 200 ms delay is gone
    expect(fast.ms).toBeLessThan(200);
  });

  it('keeps replies in order while the delay changes between commands', async () => {
    proxy = await startDelayProxy({ target, delayMs: 30 });
    const c = client(proxy);
    await c.connect();
    const replies: Promise<string>[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 10 === 0) proxy.setDelay([30, 0, 5][(i / 10) % 3]);
      replies.push(c.echo(`m${i}`));
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 60 }, (_, i) => `m${i}`));
  });

  it('close() ends open connections and refuses new ones', async () => {
    proxy = await startDelayProxy({ target, delayMs: 0 });
    const s = net.connect({ host: '127.0.0.1', port: proxy.port });
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    const c = client(proxy);
    await c.connect();
    expect(await c.ping()).toBe('PONG');

    const port = proxy.port;
    await proxy.close();
    proxy = null;
    await closed(s);
    expect(s.destroyed).toBe(true);
    await expect(c.ping()).rejects.toThrow();
    const refused = await new Promise<string>((resolve) => {
      const t = net.connect({ host: '127.0.0.1', port });
      t.once('connect', () => (t.destroy(), resolve('connected')));
      t.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('closes the client connection when the target refuses', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const deadPort = (free.address() as net.AddressInfo).port;
    await new Promise((r) => free.close(r));

    proxy = await startDelayProxy({ target: { host: '127.0.0.1', port: deadPort }, delayMs: 10 });
    const s = net.connect({ host: '127.0.0.1', port: proxy.port });
    s.on('error', () => {});
    await closed(s);
    expect(s.destroyed).toBe(true);
  });

  it('rejects a negative delay', async () => {
    await expect(startDelayProxy({ target, delayMs: -1 })).rejects.toThrow(RangeError);
  });
});
