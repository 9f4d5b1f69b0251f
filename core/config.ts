/**
 * The one place that reads process.env. Every setting has a default and bounds; invalid values
 * fail at start-up with a message naming the variable. The resolved config is frozen.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from './errors';

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
}>;

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
    ...overrides,
  });
}

/** Documented settings, for the README and `paydecide config`. */
export const CONFIG_DOC = Object.keys(schema.shape);
