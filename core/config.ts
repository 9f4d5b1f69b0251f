/**
 * The one place that reads process.env. Every setting has a default and bounds; invalid values
 * fail at start-up with a message naming the variable. The resolved config is frozen.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from './errors';
import type { Action } from './actions';
import { parseAttributionWindows } from './attribution';

const intIn = (min: number, max: number, def: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const schema = z.object({
  /** Redis for scores, run state and BullMQ. @defaultValue redis://127.0.0.1:6379 */
  PAYDECIDE_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key and BullMQ queue: two prefixes never touch each other's keys. @defaultValue pd */
  PAYDECIDE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1-64 chars)').default('pd'),
  /** Local working folder: model registry and run records. @defaultValue ./.paydecide */
  PAYDECIDE_HOME: z.string().min(1).default('.paydecide'),
  /** Model registry folder. @defaultValue $PAYDECIDE_HOME/models */
  PAYDECIDE_MODELS_DIR: z.string().min(1).optional(),
  /** pino level. @defaultValue info */
  PAYDECIDE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** DuckDB threads per process. @defaultValue number of CPUs */
  PAYDECIDE_DUCKDB_THREADS: intIn(1, 256, Math.max(1, os.cpus().length)),
  /** DuckDB memory limit per process. @defaultValue 6GB */
  PAYDECIDE_DUCKDB_MEMORY: z.string().regex(/^\d+(\.\d+)?\s*(MB|GB|MiB|GiB)$/i, 'like 4GB or 512MB').default('6GB'),
  /** ONNX Runtime intra-op threads. @defaultValue number of CPUs */
  PAYDECIDE_ORT_THREADS: intIn(1, 256, Math.max(1, os.cpus().length)),
  /** Data buckets per scoring chunk (one BullMQ child job per chunk). @defaultValue 8 */
  PAYDECIDE_CHUNK_BUCKETS: intIn(1, 65536, 8),
  /** Mean users per Redis hash key; at most 80 so (Poisson) slot sizes stay under 128 fields and hashes listpack-encoded. @defaultValue 64 */
  PAYDECIDE_USERS_PER_SLOT: intIn(8, 80, 64),
  /** BullMQ lock duration of a chunk job: a killed worker's chunk is taken over after about this. @defaultValue 30000 */
  PAYDECIDE_LOCK_MS: intIn(1000, 600000, 30000),
  /** BullMQ stalled-job check interval. @defaultValue 15000 */
  PAYDECIDE_STALLED_MS: intIn(500, 600000, 15000),
  /** Attempts per chunk before the run fails. @defaultValue 3 */
  PAYDECIDE_CHUNK_ATTEMPTS: intIn(1, 20, 3),
  /** Score versions kept in Redis: the live one plus this many minus one for rollback. @defaultValue 2 */
  PAYDECIDE_KEEP_VERSIONS: intIn(2, 10, 2),
  /** Validation: largest allowed shift of any action's mean score against the previous version. @defaultValue 0.15 */
  PAYDECIDE_MAX_MEAN_SHIFT: z.coerce.number().min(0).max(1).default(0.15),
  /** Validation: smallest share of the world's users that must be published. @defaultValue 0.999 */
  PAYDECIDE_MIN_COVERAGE: z.coerce.number().min(0).max(1).default(0.999),
  /** Input checksums: hash only files changed since a chunk last hashed them, or every file every night. @defaultValue changed */
  PAYDECIDE_VERIFY_INPUTS: z.enum(['changed', 'always']).default('changed'),
  /** Where the nightly publishes CRM audiences: a directory or s3://bucket/prefix. @defaultValue $PAYDECIDE_HOME/audiences */
  PAYDECIDE_AUDIENCES: z.string().min(1).optional(),
  /** Folder of audience spec files (*.json). @defaultValue the example specs shipped in audiences/specs */
  PAYDECIDE_AUDIENCE_SPECS: z.string().min(1).default(fileURLToPath(new URL('../audiences/specs', import.meta.url))),
  /** Policy config file (JSON, policy/policy-config.ts); unset = the documented defaults. */
  PAYDECIDE_POLICY_FILE: z.string().min(1).optional(),
  /** Local mirror of s3:// world inputs (DuckDB reads local files). @defaultValue $PAYDECIDE_HOME/cache */
  PAYDECIDE_CACHE_DIR: z.string().min(1).optional(),
  /** S3 endpoint for an S3-compatible store (MinIO, Ceph, a loopback test server); unset = AWS. */
  PAYDECIDE_S3_ENDPOINT: z.string().url('must be a URL like http://127.0.0.1:9000').optional(),
  /** S3 region. @defaultValue us-east-1 */
  PAYDECIDE_S3_REGION: z.string().min(1).default('us-east-1'),
  /** S3 access key id; unset = the AWS SDK's default credential chain (AWS_ACCESS_KEY_ID, profiles, roles). */
  PAYDECIDE_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  /** S3 secret access key (with PAYDECIDE_S3_ACCESS_KEY_ID). */
  PAYDECIDE_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style addressing (http://host/bucket/key), which most S3-compatible servers need. @defaultValue true when an endpoint is set */
  PAYDECIDE_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  /** Objects above this many MiB are uploaded in parts of this size (multipart). @defaultValue 8 */
  PAYDECIDE_S3_PART_MIB: intIn(5, 1024, 8),
  /** Attempts per S3 request (the SDK retries throttling, 5xx and network faults with backoff). @defaultValue 5 */
  PAYDECIDE_S3_MAX_ATTEMPTS: intIn(1, 20, 5),
  /** Cost report: USD per vCPU-hour. @defaultValue 0.04 */
  PAYDECIDE_PRICE_VCPU_HOUR: z.coerce.number().min(0).default(0.04),
  /** Cost report: USD per GB-month of Redis memory. @defaultValue 11 */
  PAYDECIDE_PRICE_REDIS_GB_MONTH: z.coerce.number().min(0).default(11),
  /** Cost report: USD per GB-month of object storage. @defaultValue 0.023 */
  PAYDECIDE_PRICE_S3_GB_MONTH: z.coerce.number().min(0).default(0.023),
  /** Cost report: USD per 1,000 object-store writes (PUT, multipart part, LIST). @defaultValue 0.005 */
  PAYDECIDE_PRICE_S3_PUT_1K: z.coerce.number().min(0).default(0.005),
  /** Cost report: USD per 1,000 object-store reads (GET, HEAD). @defaultValue 0.0004 */
  PAYDECIDE_PRICE_S3_GET_1K: z.coerce.number().min(0).default(0.0004),
  /** Model promotion: largest allowed AUC drop of any action against the live model. @defaultValue 0.005 */
  PAYDECIDE_PROMOTE_TOL_AUC: z.coerce.number().min(0).max(1).default(0.005),
  /** Model promotion: largest allowed AUUC (or Qini) drop of any action against the live model. @defaultValue 0.002 */
  PAYDECIDE_PROMOTE_TOL_AUUC: z.coerce.number().min(0).max(1).default(0.002),
  /** Model promotion: largest allowed ECE rise of any action against the live model. @defaultValue 0.005 */
  PAYDECIDE_PROMOTE_TOL_ECE: z.coerce.number().min(0).max(1).default(0.005),
  /**
   * Attribution windows that override the defaults of core/attribution.ts, e.g.
   * `cashback=14d,card_on_file=2h` (units s, m, h, d; 1m..90d). @defaultValue '' (the defaults)
   */
  PAYDECIDE_ATTRIBUTION_WINDOWS: z.string().default(''),
  /** Online service: API keys accepted as `Authorization: Bearer <key>`, comma-separated (8+ chars each). @defaultValue pd-demo-key (the demo key: replace it) */
  PAYDECIDE_API_KEYS: z
    .string()
    .default('pd-demo-key')
    .refine((s) => s.split(',').every((k) => /^[\x21-\x7e]{8,256}$/.test(k.trim())), 'comma-separated keys of 8-256 printable characters, no spaces'),
  /** Online service: answer deadline, ms; a decision not ready by then is the fail-open default. @defaultValue 25 */
  PAYDECIDE_DEADLINE_MS: intIn(2, 1000, 25),
  /** Online service: event-loop lag (ms) above which new requests are shed to the default answer. @defaultValue 15 */
  PAYDECIDE_SHED_LAG_MS: intIn(1, 1000, 15),
  /** Online service: decisions in flight above which new requests are shed. @defaultValue 2000 */
  PAYDECIDE_MAX_INFLIGHT: intIn(1, 100000, 2000),
  /** Online service: consecutive Redis failures that open the circuit breaker. @defaultValue 5 */
  PAYDECIDE_BREAKER_FAILURES: intIn(1, 1000, 5),
  /** Online service: how long the breaker stays open before one trial request, ms. @defaultValue 1000 */
  PAYDECIDE_BREAKER_COOLDOWN_MS: intIn(10, 600000, 1000),
  /** Online service: approximate length cap of the decision and outcome streams (XADD MAXLEN ~). @defaultValue 1000000 */
  PAYDECIDE_STREAM_MAXLEN: intIn(1000, 1_000_000_000, 1_000_000),
  /** Online service: share of each campaign's budget the online surface may spend, paced evenly over the campaign's days. @defaultValue 0.5 */
  PAYDECIDE_ONLINE_BUDGET_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  /** Online service: use the ONNX adjuster (on) or the nightly scores as they are (off). @defaultValue on */
  PAYDECIDE_ADJUSTER: z.enum(['on', 'off']).default('on'),
});

export type Config = Readonly<{
  redisUrl: string;
  prefix: string;
  home: string;
  modelsDir: string;
  logLevel: z.infer<typeof schema>['PAYDECIDE_LOG_LEVEL'];
  duckdbThreads: number;
  duckdbMemory: string;
  ortThreads: number;
  chunkBuckets: number;
  usersPerSlot: number;
  lockMs: number;
  stalledMs: number;
  chunkAttempts: number;
  keepVersions: number;
  maxMeanShift: number;
  minCoverage: number;
  verifyInputs: 'changed' | 'always';
  /** Audience store: a directory (absolute) or s3://bucket/prefix. */
  audiences: string;
  audienceSpecs: string;
  policyFile: string | undefined;
  cacheDir: string;
  s3: S3Settings;
  prices: Prices;
  promotion: PromotionTolerances;
  /** Attribution window per action, seconds (label maturation). */
  attributionWindows: Readonly<Record<Action, number>>;
  online: OnlineSettings;
}>;

/** Settings of `paydecide serve` (README "Online service"). */
export interface OnlineSettings {
  apiKeys: readonly string[];
  deadlineMs: number;
  shedLagMs: number;
  maxInflight: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  streamMaxLen: number;
  budgetShare: number;
  adjuster: boolean;
}

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  /** Both set, or neither (the SDK's default chain). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  forcePathStyle: boolean;
  partBytes: number;
  maxAttempts: number;
}

/** Prices of the cost report (README "Cost"), all in USD. */
export interface Prices {
  vcpuHour: number;
  redisGbMonth: number;
  s3GbMonth: number;
  s3Put1k: number;
  s3Get1k: number;
}

/** Model promotion tolerances (models/promotion.ts): how much worse than live a candidate may be. */
export interface PromotionTolerances {
  auc: number;
  auuc: number;
  ece: number;
}

/** Reads and validates the environment (or the given object, for tests). */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const picked: Record<string, string> = {};
  for (const k of Object.keys(schema.shape)) {
    const v = env[k];
    if (v !== undefined && v !== '') picked[k] = v;
  }
  const r = schema.safeParse(picked);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PaydecideError(ErrorCodes.CONFIG, `invalid configuration: ${msg}`, { exitCode: 2 });
  }
  const e = r.data;
  const home = path.resolve(e.PAYDECIDE_HOME);
  if ((e.PAYDECIDE_S3_ACCESS_KEY_ID === undefined) !== (e.PAYDECIDE_S3_SECRET_ACCESS_KEY === undefined)) {
    throw new PaydecideError(ErrorCodes.CONFIG, 'invalid configuration: PAYDECIDE_S3_ACCESS_KEY_ID and PAYDECIDE_S3_SECRET_ACCESS_KEY go together (set both or neither)', { exitCode: 2 });
  }
  const audiences = e.PAYDECIDE_AUDIENCES ?? path.join(home, 'audiences');
  let attributionWindows: Record<Action, number>;
  try {
    attributionWindows = parseAttributionWindows(e.PAYDECIDE_ATTRIBUTION_WINDOWS);
  } catch (err) {
    throw new PaydecideError(ErrorCodes.CONFIG, `invalid configuration: PAYDECIDE_ATTRIBUTION_WINDOWS: ${(err as Error).message}`, { exitCode: 2 });
  }
  return Object.freeze({
    redisUrl: e.PAYDECIDE_REDIS_URL,
    prefix: e.PAYDECIDE_PREFIX,
    home,
    modelsDir: path.resolve(e.PAYDECIDE_MODELS_DIR ?? path.join(home, 'models')),
    logLevel: e.PAYDECIDE_LOG_LEVEL,
    duckdbThreads: e.PAYDECIDE_DUCKDB_THREADS,
    duckdbMemory: e.PAYDECIDE_DUCKDB_MEMORY,
    ortThreads: e.PAYDECIDE_ORT_THREADS,
    chunkBuckets: e.PAYDECIDE_CHUNK_BUCKETS,
    usersPerSlot: e.PAYDECIDE_USERS_PER_SLOT,
    lockMs: e.PAYDECIDE_LOCK_MS,
    stalledMs: e.PAYDECIDE_STALLED_MS,
    chunkAttempts: e.PAYDECIDE_CHUNK_ATTEMPTS,
    keepVersions: e.PAYDECIDE_KEEP_VERSIONS,
    maxMeanShift: e.PAYDECIDE_MAX_MEAN_SHIFT,
    minCoverage: e.PAYDECIDE_MIN_COVERAGE,
    verifyInputs: e.PAYDECIDE_VERIFY_INPUTS,
    audiences: audiences.startsWith('s3://') ? audiences : path.resolve(audiences),
    audienceSpecs: path.resolve(e.PAYDECIDE_AUDIENCE_SPECS),
    policyFile: e.PAYDECIDE_POLICY_FILE ? path.resolve(e.PAYDECIDE_POLICY_FILE) : undefined,
    cacheDir: path.resolve(e.PAYDECIDE_CACHE_DIR ?? path.join(home, 'cache')),
    s3: Object.freeze({
      endpoint: e.PAYDECIDE_S3_ENDPOINT,
      region: e.PAYDECIDE_S3_REGION,
      credentials: e.PAYDECIDE_S3_ACCESS_KEY_ID ? { accessKeyId: e.PAYDECIDE_S3_ACCESS_KEY_ID, secretAccessKey: e.PAYDECIDE_S3_SECRET_ACCESS_KEY! } : undefined,
      forcePathStyle: e.PAYDECIDE_S3_FORCE_PATH_STYLE ? e.PAYDECIDE_S3_FORCE_PATH_STYLE === 'true' : e.PAYDECIDE_S3_ENDPOINT !== undefined,
      partBytes: e.PAYDECIDE_S3_PART_MIB * 1024 * 1024,
      maxAttempts: e.PAYDECIDE_S3_MAX_ATTEMPTS,
    }),
    prices: Object.freeze({
      vcpuHour: e.PAYDECIDE_PRICE_VCPU_HOUR,
      redisGbMonth: e.PAYDECIDE_PRICE_REDIS_GB_MONTH,
      s3GbMonth: e.PAYDECIDE_PRICE_S3_GB_MONTH,
      s3Put1k: e.PAYDECIDE_PRICE_S3_PUT_1K,
      s3Get1k: e.PAYDECIDE_PRICE_S3_GET_1K,
    }),
    attributionWindows: Object.freeze(attributionWindows),
    online: Object.freeze({
      apiKeys: Object.freeze(e.PAYDECIDE_API_KEYS.split(',').map((k) => k.trim())),
      deadlineMs: e.PAYDECIDE_DEADLINE_MS,
      shedLagMs: e.PAYDECIDE_SHED_LAG_MS,
      maxInflight: e.PAYDECIDE_MAX_INFLIGHT,
      breakerFailures: e.PAYDECIDE_BREAKER_FAILURES,
      breakerCooldownMs: e.PAYDECIDE_BREAKER_COOLDOWN_MS,
      streamMaxLen: e.PAYDECIDE_STREAM_MAXLEN,
      budgetShare: e.PAYDECIDE_ONLINE_BUDGET_SHARE,
      adjuster: e.PAYDECIDE_ADJUSTER === 'on',
    }),
    promotion: Object.freeze({
      auc: e.PAYDECIDE_PROMOTE_TOL_AUC,
      auuc: e.PAYDECIDE_PROMOTE_TOL_AUUC,
      ece: e.PAYDECIDE_PROMOTE_TOL_ECE,
    }),
    ...overrides,
  });
}

/** Documented settings, for the README and `paydecide config`. */
export const CONFIG_DOC = Object.keys(schema.shape);
