/**
 * A loopback TCP proxy that delays every chunk coming back from the target by `delayMs`: put it in
 * front of Redis to make Redis "slow" for a service under test (`make bench-online`'s fault phase,
 * the online service's deadline tests). Client → target bytes pass at once; target → client chunks
 * wait in a per-connection FIFO and leave in order, each no earlier than `delayMs` after it
 * arrived (a timer per connection on the queue head, so order holds even when the delay changes).
 */
import net from 'node:net';

export interface DelayProxyOptions {
  target: { host: string; port: number };
  /** Delay added to each target → client chunk, ms. */
  delayMs: number;
  /** @defaultValue '127.0.0.1' */
  listenHost?: string;
  /** 0 = a free port. @defaultValue 0 */
  listenPort?: number;
}

export interface DelayProxy {
  port: number;
  /** `redis://<listenHost>:<port><redisPath>`, e.g. `url('/0')`. */
  url(redisPath?: string): string;
  /** Applies to chunks that arrive from now on; queued chunks keep their time (and order). */
  setDelay(ms: number): void;
  /** Stops listening and destroys every open connection (both sides). */
  close(): Promise<void>;
}

interface Pending {
  due: number;
  chunk: Buffer;
}

function checkDelay(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delayMs must be a finite number ≥ 0, got ${ms}`);
  return ms;
}

export async function startDelayProxy(opts: DelayProxyOptions): Promise<DelayProxy> {
  let delay = checkDelay(opts.delayMs);
  const listenHost = opts.listenHost ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: opts.target.host, port: opts.target.port });
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const queue: Pending[] = [];
    let timer: NodeJS.Timeout | null = null;
    let lastDue = 0;
    let upstreamEnded = false;

    const cancelTimer = () => {
      if (timer) {
        clearTimeout(timer);
        timers.delete(timer);
        timer = null;
      }
    };
    const destroyBoth = () => {
      cancelTimer();
      queue.length = 0;
      client.destroy();
      upstream.destroy();
    };
    const flush = () => {
      if (timer) timers.delete(timer);
      timer = null;
      const now = performance.now();
      while (queue.length && queue[0].due <= now) client.write(queue.shift()!.chunk);
      schedule();
    };
    const schedule = () => {
      if (timer) return;
      if (queue.length === 0) {
        if (upstreamEnded) client.end();
        return;
      }
      // setTimeout may fire up to a millisecond early (libuv's cached loop time): flush re-checks
      // `due` and re-arms, so no chunk ever leaves before its time.
      timer = setTimeout(flush, Math.max(0, Math.ceil(queue[0].due - performance.now())));
      timers.add(timer);
    };

    client.on('data', (d) => {
      if (!upstream.write(d)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    upstream.on('data', (d) => {
      if (delay === 0 && queue.length === 0) {
        client.write(d);
        return;
      }
      // never before an earlier chunk: a lowered delay must not reorder the stream
      const due = Math.max(performance.now() + delay, lastDue);
      lastDue = due;
      queue.push({ due, chunk: d });
      schedule();
    });
    upstream.on('end', () => {
      upstreamEnded = true;
      schedule();
    });
    client.on('end', () => upstream.end());
    client.on('close', () => {
      sockets.delete(client);
      destroyBoth();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      // a reset (or a refused connect) ends the client too; a clean end waits for the queue
      if (!upstreamEnded) destroyBoth();
    });
    client.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listenPort ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: (redisPath = '') => `redis://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}${redisPath}`,
    setDelay(ms: number) {
      delay = checkDelay(ms);
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        sockets.clear();
        server.close(() => resolve());
      });
    },
  };
}
