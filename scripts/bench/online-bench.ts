/**
 * make bench-online: the online decision service (`paydecide serve`) under load on a scored
 * 20,000-user world, and in the same run the ceiling it is judged against — bare Fastify + one
 * HGET of the same packed record (scripts/bench/ceiling-server.ts).
 *
 * Load: Debian's `hey` (installed with apt-get when missing). hey sends one fixed body per process,
 * so a phase runs HEY_PROCS hey processes at once, each with its own user's body file; with a rate,
 * each of a process's `c` workers sends at most `q` req/s, so the total is exactly
 * procs × c × q (50 connections: 10 × 5 × R/50; the fault phases 100 connections: 10 × 10 × R/100,
 * so latencies up to 50 ms still keep the rate). A hey worker waits for its response before the
 * next tick (ticks it misses are dropped), so when latency exceeds 1/q the achieved rate falls
 * below the target; the table shows the achieved rate. Max throughput: hey without -q, 50
 * connections, closed loop. Client latencies come from hey's CSV (0.1 ms resolution); hey's CSV
 * leaves out requests that failed without an HTTP status (refused, reset, timeout), so those show
 * only as a lower achieved rate.
 *
 * Server latency: `paydecide_decision_seconds` from GET /metrics, the bucket counts after a phase
 * minus before, quantiles linearly interpolated inside a bucket (bucket resolution, not exact).
 * Sources of the answers: `paydecide_decisions_total{source}` over the phase.
 *
 * Faults at 2,000 req/s: Redis slowed (the service's Redis behind scripts/bench/tcp-delay-proxy.ts,
 * delay raised to FAULT_DELAY_MS > the deadline after a warm-up), Redis lost mid-run (that proxy
 * closed), Redis never there (a service started against a closed port).
 *
 * The bodies: HEY_PROCS users ("0".."N-1" spread over the world, each with a live record), one
 * fixed body per hey process; the service's online state under the bench prefix (exposures,
 * spend: `<prefix>:o:*`) is cleared before each service starts, so runs start alike.
 *
 * Targets (printed PASS/FAIL): server p99 ≤ 3 ms at 2,000 req/s; client p99 ≤ 1.5 × the
 * ceiling's at 2,000; max req/s ≥ 50% of the ceiling's; the worst fault phase's client p99 ≤
 * deadline + 5 ms; no 5xx in any service phase. RESULT's fault_p99_ms and fault_5xx are the worst
 * fault phase's, fault_fallback_rate the lowest (every answer should fall back while Redis is
 * slow or gone).
 *
 * Cost: the service process's CPU time (utime + stime of it and its descendants, /proc) during
 * the 2,000 req/s phase → `<PAYDECIDE_HOME of this shell, default .paydecide>/bench/online-result.json`,
 * which `paydecide report cost` reads. The last line is `RESULT {json}`. Not a test: nothing here
 * asserts a time; the targets are printed pass/fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../../core/config';
import { ScoreStore } from '../../core/score-store';
import { startDelayProxy, type DelayProxy } from './tcp-delay-proxy';

const USERS = Number(process.env.BENCH_USERS ?? 20_000);
const DATE = process.env.BENCH_DATE ?? '2026-06-30';
const PREFIX = process.env.BENCH_PREFIX ?? 'pdbench-online';
const HOME = path.resolve(process.env.BENCH_HOME ?? '.paydecide/bench-online');
const WORLD = path.join(HOME, `world-${USERS}`);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_S = 2;
const DEADLINE_MS = 25;
const FAULT_DELAY_MS = 50;
const API_KEY = 'bench-key';
const HEY_PROCS = 10;
const REDIS_URL = process.env.PAYDECIDE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux
const PD = path.resolve('bin/paydecide.mjs');
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- children: every one in its own process group, all killed on any way out ----

const children = new Set<ChildProcess>();
const started: number[] = [];
function spawnChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const c = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  started.push(c.pid!);
  c.once('exit', () => children.delete(c));
  return c;
}
function killGroup(c: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-c.pid!, sig);
  } catch {
    /* already gone */
  }
}
async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  killGroup(c, 'SIGTERM');
  if ((await Promise.race([gone.then(() => true), sleep(3000).then(() => false)])) === false) killGroup(c, 'SIGKILL');
  await gone;
}
process.on('exit', () => {
  for (const c of children) killGroup(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    say(`\n${sig}: stopping children`);
    process.exit(130);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

// ---- hey ----

function ensureHey(): string {
  const hey = '/usr/bin/hey';
  if (fs.existsSync(hey)) return hey;
  say("hey: not installed; installing Debian's hey (apt-get install -y hey)");
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  spawnSync('bash', ['-c', `${sudo}apt-get install -y -qq hey || (${sudo}apt-get update -qq && ${sudo}apt-get install -y -qq hey)`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!fs.existsSync(hey)) {
    say('hey: apt-get could not install Debian\'s "hey" package; install it (apt-get install hey) and run make bench-online again');
    process.exit(1);
  }
  return hey;
}

interface Load {
  n: number;
  seconds: number;
  lat: Float64Array; // ms, sorted
  statuses: Map<number, number>;
}

/** HEY_PROCS hey processes at once, one body file each; rate = total req/s or null for closed loop. */
async function runHey(hey: string, url: string, bodies: string[], seconds: number, rate: number | null, connections: number): Promise<Load> {
  const c = connections / bodies.length;
  if (!Number.isInteger(c) || (rate !== null && !Number.isInteger((rate / connections) * 1000))) throw new Error(`bad load shape: ${rate} req/s over ${connections} connections, ${bodies.length} processes`);
  const outs = await Promise.all(
    bodies.map((body) => {
      const args = ['-z', `${seconds}s`, '-c', String(c), ...(rate === null ? [] : ['-q', String(rate / connections)]), '-cpus', '1'];
      args.push('-m', 'POST', '-T', 'application/json', '-H', `Authorization: Bearer ${API_KEY}`, '-D', body, '-o', 'csv', url);
      const p = spawnChild(hey, args);
      const chunks: Buffer[] = [];
      let err = '';
      p.stdout!.on('data', (d: Buffer) => chunks.push(d));
      p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      return new Promise<string>((resolve, reject) =>
        p.once('exit', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`hey exited ${code}: ${err.trim().slice(0, 300)}`)))),
      );
    }),
  );
  const lat: number[] = [];
  const statuses = new Map<number, number>();
  for (const out of outs) {
    for (const line of out.split('\n')) {
      const f = line.split(',');
      if (f.length < 8 || f[0] === 'response-time') continue;
      lat.push(Number(f[0]) * 1000);
      const st = Number(f[6]);
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
    }
  }
  return { n: lat.length, seconds, lat: Float64Array.from(lat).sort(), statuses };
}

const pct = (sorted: Float64Array, q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);

// ---- /metrics ----

type Samples = Map<string, { labels: Record<string, string>; value: number }[]>;

async function scrape(base: string): Promise<Samples | null> {
  try {
    const r = await fetch(`${base}/metrics`);
    if (!r.ok) return null;
    const out: Samples = new Map();
    for (const line of (await r.text()).split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      const list = out.get(m[1]) ?? [];
      list.push({ labels, value: Number(m[3]) });
      out.set(m[1], list);
    }
    return out;
  } catch {
    return null;
  }
}

/** Sum of a metric over every label set except `by`, keyed by the value of `by`, after − before. */
function diffBy(a: Samples | null, b: Samples | null, name: string, by: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [s, sign] of [[b, 1], [a, -1]] as const) for (const x of s?.get(name) ?? []) out.set(x.labels[by] ?? '', (out.get(x.labels[by] ?? '') ?? 0) + sign * x.value);
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

/** Quantile of the histogram's observations between two scrapes (linear inside the bucket). */
function histQuantile(buckets: Map<string, number>, q: number): number | null {
  const bs = [...buckets].map(([le, n]) => ({ le: le === '+Inf' ? Infinity : Number(le), n })).sort((x, y) => x.le - y.le);
  const total = bs.at(-1)?.n ?? 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const b of bs) {
    if (b.n >= rank) return b.le === Infinity ? prevLe * 1000 : (prevLe + ((b.le - prevLe) * (rank - prevN)) / Math.max(1, b.n - prevN)) * 1000;
    prevLe = b.le;
    prevN = b.n;
  }
  return null;
}

// ---- CPU of a process tree from /proc ----

/** CPU ticks of this process's reaped children (cutime + cstime): the hey processes of a phase. */
function reapedChildTicks(): number {
  const s = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]); // fields 16, 17
}

function treeCpuTicks(root: number): number {
  const stat = new Map<number, { ppid: number; ticks: number }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
      stat.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) }); // utime, stime (fields 14, 15)
    } catch {
      /* exited meanwhile */
    }
  }
  let ticks = 0;
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    ticks += stat.get(p)?.ticks ?? 0;
    for (const [pid, s] of stat) if (s.ppid === p) todo.push(pid);
  }
  return ticks;
}

// ---- servers ----

interface Server {
  name: string;
  base: string;
  proc: ChildProcess;
}

/**
 * Starts a server and waits until `probe` answers 200 (`/readyz`: live version, campaigns and
 * adjuster loaded) or, with `anyAnswer`, answers at all (a service without Redis is never ready).
 */
async function startServer(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, port: number, probe = '/healthz', anyAnswer = false): Promise<Server> {
  const proc = spawnChild(cmd, args, env);
  let out = '';
  const onData = (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const base = `http://127.0.0.1:${port}`;
  const t = performance.now();
  let last = '';
  while (performance.now() - t < 60_000) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode} before it was ready:\n${out.trim()}`);
    try {
      const r = await fetch(`${base}${probe}`);
      last = `${r.status} ${(await r.text()).slice(0, 400)}`;
      // a service that answers but stays unready (say, no adjuster) is still measured, with a warning
      const unready = performance.now() - t > 15_000;
      if (r.ok || anyAnswer || unready) {
        if (!r.ok && !anyAnswer) say(`  ${name}: WARNING not ready after 15 s, measuring anyway`);
        say(`  ${name}: ready in ${((performance.now() - t) / 1000).toFixed(1)} s (${probe} ${last})`);
        return { name, base, proc };
      }
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready on ${base}${probe} within 60 s (last answer: ${last || 'none'}):\n${out.trim()}`);
}

// ---- phases ----

interface Phase {
  name: string;
  target: number | null;
  load: Load;
  server_p50: number | null;
  server_p99: number | null;
  sources: Map<string, number>;
  fallbacks: Map<string, number>;
  cpu_s: number;
  /** CPU of the load generator (all hey processes) over the phase. */
  gen_cpu_s: number;
}

const rps = (p: Phase) => p.load.n / p.load.seconds;
const non2xx = (p: Phase) => [...p.load.statuses].filter(([s]) => s < 200 || s >= 300).reduce((a, [, n]) => a + n, 0);
const n5xx = (p: Phase) => [...p.load.statuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
const ok2xx = (p: Phase) => p.load.n - non2xx(p);
const fallbackRate = (p: Phase) => {
  const total = [...p.sources.values()].reduce((a, b) => a + b, 0);
  const fb = [...p.sources].filter(([s]) => s.startsWith('fallback')).reduce((a, [, n]) => a + n, 0);
  return total ? fb / total : null;
};

async function phase(hey: string, srv: Server, bodies: string[], name: string, rate: number | null, connections = 50, seconds = SECONDS): Promise<Phase> {
  say(`phase ${name}: ${rate === null ? 'closed loop' : `${rate} req/s`}, ${connections} connections, ${seconds} s`);
  const m0 = await scrape(srv.base);
  const c0 = treeCpuTicks(srv.proc.pid!);
  const g0 = reapedChildTicks();
  const load = await runHey(hey, `${srv.base}/v1/decisions`, bodies, seconds, rate, connections);
  const cpu_s = (treeCpuTicks(srv.proc.pid!) - c0) / CLK_TCK;
  const gen_cpu_s = (reapedChildTicks() - g0) / CLK_TCK;
  const m1 = await scrape(srv.base);
  const buckets = diffBy(m0, m1, 'paydecide_decision_seconds_bucket', 'le');
  const p: Phase = {
    name,
    target: rate,
    load,
    server_p50: histQuantile(buckets, 0.5),
    server_p99: histQuantile(buckets, 0.99),
    sources: diffBy(m0, m1, 'paydecide_decisions_total', 'source'),
    fallbacks: diffBy(m0, m1, 'paydecide_fallbacks_total', 'reason'),
    cpu_s,
    gen_cpu_s,
  };
  say(`  ${row(p)}`);
  return p;
}

const f1 = (x: number | null) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(x < 10 ? 2 : 1));
function row(p: Phase): string {
  const total = [...p.sources.values()].reduce((a, b) => a + b, 0);
  const src = total ? [...p.sources].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${((100 * n) / total).toFixed(1)}%`).join(', ') : '—';
  return [
    p.name.padEnd(22),
    (p.target === null ? 'max' : String(p.target)).padStart(6),
    rps(p).toFixed(0).padStart(7),
    f1(pct(p.load.lat, 0.5)).padStart(7),
    f1(pct(p.load.lat, 0.99)).padStart(7),
    f1(p.server_p50).padStart(7),
    f1(p.server_p99).padStart(7),
    String(non2xx(p)).padStart(6),
    String(n5xx(p)).padStart(5),
    p.cpu_s.toFixed(1).padStart(6),
    p.gen_cpu_s.toFixed(1).padStart(6),
    `  ${src}`,
  ].join(' ');
}
const HEADER = `${'phase'.padEnd(22)} ${'target'.padStart(6)} ${'req/s'.padStart(7)} ${'c p50'.padStart(7)} ${'c p99'.padStart(7)} ${'s p50'.padStart(7)} ${'s p99'.padStart(7)} ${'non2xx'.padStart(6)} ${'5xx'.padStart(5)} ${'cpu-s'.padStart(6)} ${'hey-s'.padStart(6)}  sources`;

// ---- world and bench users ----

function pd(args: string[], env: NodeJS.ProcessEnv, inherit = true): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [PD, ...args], { env, encoding: 'utf8', stdio: ['ignore', inherit ? 'inherit' : 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return { status: r.status, stdout: r.stdout ?? '' };
}

/**
 * The scored world under PREFIX/HOME, reused when its live version is this size and date and
 * carries what the service needs (the campaigns in its metadata, a current online adjuster);
 * else the nightly again (on the existing world when it fits), else gen + nightly.
 */
async function ensureWorld(env: NodeJS.ProcessEnv, redis: Redis): Promise<{ live: string; bytesPerUser: number | null }> {
  const status = () => {
    const r = pd(['status', '--json'], env, false);
    if (r.status !== 0) throw new Error(`paydecide status exited ${r.status}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { live_version: string | null; users: number; as_of: string | null; bytes_per_user: number | null };
  };
  let s = status();
  const fits = s.live_version !== null && s.users === USERS && s.as_of === DATE;
  const complete = fits && (await redis.hexists(`${PREFIX}:version:${s.live_version}`, 'campaigns')) === 1 && fs.existsSync(path.join(HOME, 'models', 'adjuster', 'CURRENT'));
  if (complete) {
    say(`world: reusing live version ${s.live_version} (${s.users} users as of ${s.as_of}, prefix ${PREFIX}, home ${HOME})`);
    return { live: s.live_version!, bytesPerUser: s.bytes_per_user };
  }
  const t = performance.now();
  let world: { users?: number; date?: string } = {};
  try {
    world = JSON.parse(fs.readFileSync(path.join(WORLD, 'world.json'), 'utf8'));
  } catch {
    /* none yet */
  }
  if (world.users === USERS && world.date === DATE) {
    say(`world: ${fits ? 'the live version lacks the campaigns or the online adjuster' : 'no live version of it'}; running the nightly on ${WORLD} (prefix ${PREFIX})`);
  } else {
    say(`world: generating ${USERS} users as of ${DATE} into ${WORLD} and running the nightly (prefix ${PREFIX}); about 1-2 minutes`);
    fs.rmSync(WORLD, { recursive: true, force: true });
    if (pd(['gen', '--out', WORLD, '--users', String(USERS), '--date', DATE, '--seed', '42'], env).status !== 0) throw new Error('paydecide gen failed');
  }
  if (pd(['nightly', '--data', WORLD, '--date', DATE, '--no-audiences'], env).status !== 0) throw new Error('paydecide nightly failed');
  s = status();
  if (!s.live_version) throw new Error('the nightly left no live version');
  say(`world: ready in ${((performance.now() - t) / 1000).toFixed(0)} s, live ${s.live_version}`);
  return { live: s.live_version, bytesPerUser: s.bytes_per_user };
}

/** One user per hey process (ids "0".."N-1", spread over the range) with a record in the live version. */
async function benchUsers(redis: Redis): Promise<{ ids: string[]; records: Buffer[] }> {
  const store = new ScoreStore(redis, PREFIX);
  const ids: string[] = [];
  const records: Buffer[] = [];
  for (let i = 0; i < HEY_PROCS; i++) {
    for (let u = Math.floor(((i + 0.5) * USERS) / HEY_PROCS); ; u++) {
      const r = await store.readRecord(String(u));
      if (r) {
        ids.push(String(u));
        records.push(r.record);
        break;
      }
      if (u > USERS) throw new Error('no scored users in the live version');
    }
  }
  return { ids, records };
}

const MCC = ['5411', '5812', '5541', '4900', '5732', '5999', '4121', '5912', '7832', '5651'];
function writeBodies(dir: string, ids: string[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return ids.map((uid, i) => {
    const f = path.join(dir, `body-${i}.json`);
    const body = { request_id: `bench-${i}`, user_id: uid, event: 'payment_completed', amount: 12.5 + 17 * i, currency: 'USD', mcc: MCC[i % MCC.length], merchant_id: `m_${100 + i}`, channel: 'merchant_checkout', payment_method: 'card', country: 'US' };
    fs.writeFileSync(f, JSON.stringify(body));
    return f;
  });
}

// ---- main ----

async function main() {
  const t0 = performance.now();
  say(`bench-online: ${os.cpus().length} cores, ${USERS} users, ${SECONDS} s per phase, deadline ${DEADLINE_MS} ms, Redis ${REDIS_URL.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}`);
  const hey = ensureHey();
  const costHome = loadConfig(process.env).home; // where `paydecide report cost` (same shell env) looks
  const svcEnv = { ...process.env, PAYDECIDE_PREFIX: PREFIX, PAYDECIDE_HOME: HOME, PAYDECIDE_REDIS_URL: REDIS_URL, PAYDECIDE_API_KEYS: API_KEY, PAYDECIDE_LOG_LEVEL: 'warn' };
  const redis = new Redis(REDIS_URL, { connectionName: 'paydecide-bench-online' });
  const { bytesPerUser } = await ensureWorld(svcEnv, redis);
  const ceilingKey = `${PREFIX}:bench:ceiling`;
  const { ids, records } = await benchUsers(redis);
  // the ceiling's hash holds the bench users' real records among 64 fields, like a score slot
  const fill: (string | Buffer)[] = ids.flatMap((id, i) => [id, records[i]]);
  for (let i = ids.length; i < 64; i++) fill.push(`f${i}`, randomBytes(records[0].length));
  await redis.del(ceilingKey);
  await redis.hset(ceilingKey, ...(fill as [string, Buffer]));
  const bodies = writeBodies(path.join(HOME, 'bench'), ids);
  say(`users: ${ids.join(', ')} (one per hey process)`);

  const phases: Phase[] = [];
  let proxy: DelayProxy | null = null;
  try {
    // 1. the ceiling
    let port = await freePort();
    const ceiling = await startServer('ceiling', process.execPath, ['--import', 'tsx', 'scripts/bench/ceiling-server.ts', '--port', String(port), '--redis', REDIS_URL, '--key', ceilingKey], svcEnv, port);
    await runHey(hey, `${ceiling.base}/v1/decisions`, bodies, WARMUP_S, 1000, 50);
    phases.push(await phase(hey, ceiling, bodies, 'ceiling 2000', 2000));
    phases.push(await phase(hey, ceiling, bodies, 'ceiling max', null));
    await stopChild(ceiling.proc);
    if (!fs.existsSync(path.resolve('cli/commands/serve.ts'))) {
      say(HEADER);
      for (const p of phases) say(row(p));
      throw new Error('`paydecide serve` does not exist yet (cli/commands/serve.ts): only the ceiling was measured');
    }

    // 2. the service, each start from no online state (exposures, spend) of earlier runs
    const resetOnline = async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:o:*`, 'COUNT', 1000);
        if (keys.length) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    };
    await resetOnline();
    const serveArgs = (p: number) => [PD, 'serve', '--port', String(p), '--deadline-ms', String(DEADLINE_MS)];
    port = await freePort();
    const svc = await startServer('serve', process.execPath, serveArgs(port), svcEnv, port, '/readyz');
    for (const id of ids.slice(0, 3)) {
      const r = await fetch(`${svc.base}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }, body: fs.readFileSync(bodies[ids.indexOf(id)]) });
      say(`  sample user ${id}: ${r.status} ${(await r.text()).slice(0, 300)}`);
    }
    await runHey(hey, `${svc.base}/v1/decisions`, bodies, WARMUP_S, 1000, 50);
    for (const r of [1000, 2000, 4000]) phases.push(await phase(hey, svc, bodies, `service ${r}`, r));
    phases.push(await phase(hey, svc, bodies, 'service max', null));
    await stopChild(svc.proc);

    // 3. faults at 2,000 req/s
    await resetOnline();
    const ru = new URL(REDIS_URL);
    proxy = await startDelayProxy({ target: { host: ru.hostname.replace(/^\[|\]$/g, ''), port: Number(ru.port || 6379) }, delayMs: 0 });
    const viaProxy = new URL(REDIS_URL);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    port = await freePort();
    const slow = await startServer('serve (via delay proxy)', process.execPath, serveArgs(port), { ...svcEnv, PAYDECIDE_REDIS_URL: viaProxy.toString() }, port, '/readyz');
    await runHey(hey, `${slow.base}/v1/decisions`, bodies, WARMUP_S, 1000, 50);
    proxy.setDelay(FAULT_DELAY_MS);
    phases.push(await phase(hey, slow, bodies, `fault redis +${FAULT_DELAY_MS}ms`, 2000, 100));
    await proxy.close();
    proxy = null;
    phases.push(await phase(hey, slow, bodies, 'fault redis lost', 2000, 100));
    await stopChild(slow.proc);

    const closed = await freePort();
    port = await freePort();
    const dead = await startServer('serve (no redis)', process.execPath, serveArgs(port), { ...svcEnv, PAYDECIDE_REDIS_URL: `redis://127.0.0.1:${closed}` }, port, '/readyz', true);
    await runHey(hey, `${dead.base}/v1/decisions`, bodies, WARMUP_S, 1000, 100);
    phases.push(await phase(hey, dead, bodies, 'fault redis never up', 2000, 100));
    await stopChild(dead.proc);
  } finally {
    await proxy?.close();
    for (const c of [...children]) await stopChild(c);
    await redis.del(ceilingKey).catch(() => {});
    redis.disconnect();
  }
  const left = started.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  say(left.length ? `children: ${left.length} still running: ${left.join(', ')}` : `children: all ${started.length} stopped`);

  // ---- report ----
  say('');
  say('client = hey (response time, ms); server = paydecide_decision_seconds (ms, bucket resolution); cpu-s = server process tree, hey-s = all hey processes (CPU seconds over the phase)');
  say(HEADER);
  for (const p of phases) say(row(p));
  const get = (n: string) => phases.find((p) => p.name === n)!;
  const c2k = get('ceiling 2000');
  const s2k = get('service 2000');
  const faults = phases.filter((p) => p.name.startsWith('fault'));
  for (const f of faults) say(`${f.name}: fallback rate ${f1(fallbackRate(f) === null ? null : 100 * fallbackRate(f)!)}%, fallbacks ${[...f.fallbacks].map(([k, v]) => `${k} ${v}`).join(', ') || '—'}`);

  const worst = <T>(xs: T[], k: (x: T) => number | null) => xs.map(k).reduce<number | null>((a, b) => (b === null ? a : a === null ? b : Math.max(a, b)), null);
  const result = {
    p50_ms: pct(s2k.load.lat, 0.5),
    p99_ms: pct(s2k.load.lat, 0.99),
    server_p99_ms: s2k.server_p99,
    ceiling_p99_ms: pct(c2k.load.lat, 0.99),
    max_rps: Math.round(rps(get('service max'))),
    ceiling_rps: Math.round(rps(get('ceiling max'))),
    fault_p99_ms: worst(faults, (f) => pct(f.load.lat, 0.99)),
    // the lowest of the fault phases: every answer should be a fallback while Redis is slow or gone
    fault_fallback_rate: faults.length ? Math.min(...faults.map((f) => fallbackRate(f) ?? 0)) : null,
    fault_5xx: worst(faults, n5xx),
  };
  const total5xx = phases.filter((p) => !p.name.startsWith('ceiling')).reduce((a, p) => a + n5xx(p), 0);
  const targets: [string, boolean][] = [
    [`server p99 at 2,000 req/s ${f1(result.server_p99_ms)} ms ≤ 3 ms`, result.server_p99_ms !== null && result.server_p99_ms <= 3],
    [`client p99 ${f1(result.p99_ms)} ms ≤ 1.5 × ceiling p99 ${f1(result.ceiling_p99_ms)} ms = ${f1(1.5 * result.ceiling_p99_ms)} ms`, result.p99_ms <= 1.5 * result.ceiling_p99_ms],
    [`max ${result.max_rps} req/s ≥ 50% of ceiling ${result.ceiling_rps} req/s`, result.max_rps >= 0.5 * result.ceiling_rps],
    [`fault p99 ${f1(result.fault_p99_ms)} ms ≤ deadline + 5 = ${DEADLINE_MS + 5} ms`, result.fault_p99_ms !== null && result.fault_p99_ms <= DEADLINE_MS + 5],
    [`5xx over every service phase: ${total5xx}`, total5xx === 0],
  ];
  say('');
  for (const [what, ok] of targets) say(`target ${ok ? 'PASS' : 'FAIL'}: ${what}`);

  // the cost report's input: the 2,000 req/s phase
  const online = { decisions: ok2xx(s2k), cpu_s: s2k.cpu_s, wall_s: s2k.load.seconds, rate: 2000, measured_at: new Date().toISOString(), ...(bytesPerUser !== null ? { redis_bytes_per_user: bytesPerUser } : {}) };
  const file = path.join(costHome, 'bench', 'online-result.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(online, null, 2)}\n`);
  say(`cost: ${online.decisions} decisions in ${online.cpu_s.toFixed(2)} CPU-s (${((1000 * online.cpu_s) / online.decisions).toFixed(3)} CPU-ms each) → ${file} (read by \`paydecide report cost\` with PAYDECIDE_HOME=${costHome})`);
  say(`bench-online: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  say(`RESULT ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(3)) : v])))}`);
}

main().catch((e) => {
  process.stderr.write(`bench-online: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
