/**
 * Redis connections. Two kinds:
 * - `connectRedis` for CLI commands, jobs and the online service: fails fast. A CLI command
 *   against a dead Redis must exit with PD_ERR_REDIS_UNREACHABLE in about `connectTimeoutMs`,
 *   not hang in ioredis' endless reconnect loop, and an online request must never queue behind
 *   a reconnect (the caller falls back instead).
 * - `bullConnection` for BullMQ: `maxRetriesPerRequest: null`, which BullMQ requires for
 *   workers' blocking commands, and ordinary reconnects (a worker outlives Redis restarts).
 *
 * ioredis 6 speaks RESP3 by default with RESP2-shaped replies ("legacy" mapping); we keep that.
 * No ioredis `keyPrefix`: BullMQ refuses it, and our stores prefix keys themselves.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ErrorCodes, PaydecideError } from './errors';

export type { Redis };

export interface ConnectRedisOptions {
  /**
   * Return at once and connect in the background, reconnecting forever with a capped delay;
   * commands sent while disconnected fail immediately (no offline queue). For the online
   * service, which must start and answer (with fallbacks) even while Redis is down.
   * @defaultValue false
   */
  lazy?: boolean;
  /** Time allowed for TCP connect + handshake + PING. @defaultValue 2000 */
  connectTimeoutMs?: number;
  /** Per-command timeout (ioredis `commandTimeout`); unset means none. @defaultValue undefined */
  commandTimeoutMs?: number;
  /** Reconnect attempts after an established connection drops (non-lazy only). @defaultValue 3 */
  maxReconnectAttempts?: number;
  /** CLIENT SETNAME, handy in `CLIENT LIST`. */
  connectionName?: string;
  /**
   * Send every command issued in one event-loop tick as one write (ioredis auto-pipelining):
   * under concurrent requests it cuts syscalls per command. For the online service. @defaultValue false
   */
  autoPipelining?: boolean;
  /** Called with connection errors (ioredis emits them as events); default: ignored. */
  onError?: (err: Error) => void;
}

/** The URL with any password replaced by `***`, safe for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

function unreachable(url: string, cause: unknown): PaydecideError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new PaydecideError(ErrorCodes.REDIS_UNREACHABLE, `Redis at ${redactRedisUrl(url)} is unreachable: ${why}`, {
    retryable: true,
    exitCode: 3,
    cause,
    details: { url: redactRedisUrl(url) },
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * A connected client (non-lazy: PING answered within `connectTimeoutMs`, else throws
 * PaydecideError REDIS_UNREACHABLE naming the URL) or a background-connecting one (lazy).
 * Either way the offline queue is off, so commands on a broken connection fail fast.
 */
export async function connectRedis(url: string, opts: ConnectRedisOptions = {}): Promise<Redis> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
  const maxReconnects = opts.maxReconnectAttempts ?? 3;
  const lazy = opts.lazy ?? false;
  const options: RedisOptions = {
    lazyConnect: !lazy,
    connectTimeout: connectTimeoutMs,
    // A command waits for at most one reconnect before failing.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: opts.commandTimeoutMs,
    connectionName: opts.connectionName,
    enableAutoPipelining: opts.autoPipelining ?? false,
    retryStrategy: lazy
      ? (times) => Math.min(100 * times, 2000)
      : (times) => (times > maxReconnects ? null : Math.min(100 * 2 ** (times - 1), 1000)),
  };
  let client: Redis;
  try {
    client = new Redis(url, options);
  } catch (e) {
    throw unreachable(url, e);
  }
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
    opts.onError?.(err);
  });
  if (lazy) return client;
  try {
    // connect() resolves on "ready" (after the handshake and INFO ready check).
    await withTimeout(client.connect(), connectTimeoutMs, 'connect');
    await withTimeout(client.ping(), connectTimeoutMs, 'PING');
  } catch (e) {
    client.disconnect();
    // ioredis rejects connect() with "Connection is closed"; the socket error (ECONNREFUSED,
    // ENOTFOUND, ...) arrived as an "error" event and says more.
    throw unreachable(url, lastError && e instanceof Error && /closed/i.test(e.message) ? lastError : e);
  }
  return client;
}

/** Plain ioredis options from a redis:// or rediss:// URL (host, port, db, username, password, tls). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PaydecideError(ErrorCodes.CONFIG, `invalid Redis URL ${redactRedisUrl(url)}`, { exitCode: 2 });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new PaydecideError(ErrorCodes.CONFIG, `Redis URL must start with redis:// or rediss://, got ${redactRedisUrl(url)}`, { exitCode: 2 });
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new PaydecideError(ErrorCodes.CONFIG, `invalid Redis db in ${redactRedisUrl(url)}`, { exitCode: 2 });
  const o: RedisOptions = { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379, db };
  if (u.username) o.username = decodeURIComponent(u.username);
  if (u.password) o.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') o.tls = {};
  return o;
}

/**
 * Connection options for BullMQ `Queue`/`Worker`/`FlowProducer` (`connection: bullConnectionOptions(url)`):
 * BullMQ then opens and closes its own connections. `maxRetriesPerRequest: null` is required by
 * BullMQ workers; the default ioredis reconnect (capped backoff) keeps workers alive across restarts.
 */
export function bullConnectionOptions(url: string): RedisOptions {
  return { ...redisOptionsFromUrl(url), maxRetriesPerRequest: null };
}

/**
 * A ready-made ioredis client for BullMQ (`maxRetriesPerRequest: null`). The caller owns it and
 * must `quit()` it after closing the queues/workers that use it. Connects in the background.
 */
export function bullConnection(url: string, onError: (err: Error) => void = () => {}): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', onError);
  return client;
}

/** Quit politely, or drop the socket if Redis does not answer within `ms`. Never throws. */
export async function closeRedis(client: Redis, ms = 1000): Promise<void> {
  if (client.status === 'end') return;
  try {
    await withTimeout(client.quit(), ms, 'QUIT');
  } catch {
    client.disconnect();
  }
}
