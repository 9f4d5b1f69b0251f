/**
 * Cost of the last nightly run per million batch scores, by stage, against the product brief's
 * budgets: $25 per million batch scores and $0.001 per online decision.
 *
 * Cost model (all prices from `Config.prices`, USD; `computeCostReport` is the only place it lives):
 * - compute_usd = cpu_s / 3600 × vcpuHour. CPU seconds, not wall seconds: we pay for the vCPUs a
 *   stage keeps busy, and wall time of a stage that waits on Redis or S3 costs nothing extra.
 * - redis_usd = redis_bytes × keepVersions / 1e9 × redisGbMonth / 30. A night's output is held in
 *   Redis for one day, and it is held `keepVersions` times over (the live version plus its rollback
 *   copies), so one day's share of the monthly price, times the copies.
 * - store_usd = store_write_requests / 1000 × s3Put1k + store_read_requests / 1000 × s3Get1k
 *   + store_bytes / 1e9 × s3GbMonth. Requests are paid once; bytes written tonight (audiences,
 *   snapshots) are kept about a month, so one full month of retention is charged to the night.
 * - stage usd = compute + redis + store; usd_per_million = usd / users × 1e6 (users scored tonight).
 * - cost_per_million_usd = Σ stages' usd_per_million; projection_120m_usd_per_day = that × 120, the
 *   brief's target of 120 million batch scores a day.
 * - online usd_per_decision = cpu_s / decisions / 3600 × vcpuHour, from the online benchmark's
 *   result file (`make bench-online`); null until that benchmark has run.
 *
 * Parsing is here too (pure, from text) so the CLI only does I/O: a missing lastrun is
 * PD_ERR_NO_RUN, a malformed one PD_ERR_INPUT_SCHEMA naming the first bad field.
 */
import { z } from 'zod';
import type { Prices } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';

/** The brief's budget for batch scoring, USD per million scores. */
export const BATCH_BUDGET_USD_PER_MILLION = 25;
/** The brief's budget for an online decision, USD. */
export const ONLINE_BUDGET_USD_PER_DECISION = 0.001;
/** The brief's target volume, millions of batch scores a day, for the daily projection. */
export const PROJECTION_MILLIONS_PER_DAY = 120;
/** The command that writes the online result file, named where online is not measured. */
export const ONLINE_BENCH_COMMAND = 'make bench-online';

const nonNeg = z.number().nonnegative();

/** One stage of `${prefix}:lastrun`. Resource fields a stage does not touch may be absent (= 0). */
export const RunStageCostSchema = z.looseObject({
  name: z.string().min(1),
  wall_s: nonNeg,
  cpu_s: nonNeg,
  peak_rss_bytes: nonNeg,
  redis_bytes: nonNeg.optional(),
  store_bytes: nonNeg.optional(),
  store_write_requests: nonNeg.optional(),
  store_read_requests: nonNeg.optional(),
});

/** What the nightly stores in `${prefix}:lastrun`; other fields are kept but not used here. */
export const LastRunSchema = z.looseObject({
  version: z.string().min(1),
  as_of: z.string().min(1),
  // Per-million figures divide by users: a run that scored nobody has no cost per score.
  users: z.number().int().positive(),
  total_s: nonNeg,
  cpu_s: nonNeg,
  stages: z.array(RunStageCostSchema),
  redisBytes: nonNeg,
  finished_at: z.string().min(1),
});

/** `${home}/bench/online-result.json`, written by the online benchmark. */
export const OnlineResultSchema = z.looseObject({
  decisions: z.number().int().positive(),
  cpu_s: nonNeg,
  wall_s: nonNeg,
  redis_bytes_per_user: nonNeg.optional(),
});

export type RunStageCost = z.infer<typeof RunStageCostSchema>;
export type LastRun = z.infer<typeof LastRunSchema>;
export type OnlineResult = z.infer<typeof OnlineResultSchema>;

export interface StageCost {
  name: string;
  wall_s: number;
  cpu_s: number;
  peak_rss_bytes: number;
  redis_bytes: number;
  store_bytes: number;
  store_write_requests: number;
  store_read_requests: number;
  compute_usd: number;
  redis_usd: number;
  store_usd: number;
  /** compute + redis + store, for the whole night's users. */
  usd: number;
  usd_per_million: number;
  /** This stage's part of the night's cost, 0..1 (0 for every stage when the night cost nothing). */
  share: number;
}

export interface OnlineCost {
  decisions: number;
  cpu_s: number;
  wall_s: number;
  redis_bytes_per_user: number | null;
  usd_per_decision: number;
  budget_usd: number;
  within_budget: boolean;
}

export interface CostReport {
  version: string;
  as_of: string;
  finished_at: string;
  users: number;
  /** The run's own wall and CPU totals (stages may not add up to them: overlap, coordination). */
  total_s: number;
  cpu_s: number;
  keep_versions: number;
  prices: Prices;
  /** The night's cost for all its users, USD. */
  usd: number;
  cost_per_million_usd: number;
  projection_120m_usd_per_day: number;
  budget_per_million_usd: number;
  within_budget: boolean;
  stages: StageCost[];
  online: OnlineCost | null;
  /** Caveats a reader of the numbers should know (e.g. Redis bytes not attributed to a stage). */
  notes: string[];
}

function schemaError(source: string, issues: z.ZodError['issues']): PaydecideError {
  const first = issues[0]!;
  const field = first.path.length ? first.path.join('.') : '(root)';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issues)` : '';
  return new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${source}: field ${field}: ${first.message}${more}`, {
    details: { source, field, issues: issues.map((i) => ({ field: i.path.join('.'), message: i.message })) },
  });
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${source} is not valid JSON: ${(e as Error).message}`, { details: { source }, cause: e });
  }
}

/**
 * Validates the lastrun value as read from Redis (`null` when the key is absent).
 * @param source - how to name it in errors, e.g. `Redis key pd:lastrun`
 */
export function parseLastRun(raw: string | null, source: string): LastRun {
  if (raw === null) {
    throw new PaydecideError(ErrorCodes.NO_RUN, `${source} is missing: no nightly run has finished under this prefix; run \`paydecide nightly\` first`, { details: { source } });
  }
  const r = LastRunSchema.safeParse(parseJson(raw, source));
  if (!r.success) throw schemaError(source, r.error.issues);
  return r.data;
}

/** Validates the online benchmark's result file text. @param source - the file, for errors */
export function parseOnlineResult(text: string, source: string): OnlineResult {
  const r = OnlineResultSchema.safeParse(parseJson(text, source));
  if (!r.success) throw schemaError(source, r.error.issues);
  return r.data;
}

/** The cost model of the header comment. Pure: same inputs, same report. */
export function computeCostReport(run: LastRun, prices: Prices, keepVersions: number, online?: OnlineResult | null): CostReport {
  const perMillion = (usd: number) => (usd / run.users) * 1e6;
  const costed = run.stages.map((s) => {
    const redis_bytes = s.redis_bytes ?? 0;
    const store_bytes = s.store_bytes ?? 0;
    const store_write_requests = s.store_write_requests ?? 0;
    const store_read_requests = s.store_read_requests ?? 0;
    const compute_usd = (s.cpu_s / 3600) * prices.vcpuHour;
    const redis_usd = ((redis_bytes * keepVersions) / 1e9) * (prices.redisGbMonth / 30);
    const store_usd =
      (store_write_requests / 1000) * prices.s3Put1k + (store_read_requests / 1000) * prices.s3Get1k + (store_bytes / 1e9) * prices.s3GbMonth;
    const usd = compute_usd + redis_usd + store_usd;
    return {
      name: s.name,
      wall_s: s.wall_s,
      cpu_s: s.cpu_s,
      peak_rss_bytes: s.peak_rss_bytes,
      redis_bytes,
      store_bytes,
      store_write_requests,
      store_read_requests,
      compute_usd,
      redis_usd,
      store_usd,
      usd,
      usd_per_million: perMillion(usd),
    };
  });
  const usd = costed.reduce((a, s) => a + s.usd, 0);
  const stages: StageCost[] = costed.map((s) => ({ ...s, share: usd > 0 ? s.usd / usd : 0 }));
  const cost_per_million_usd = stages.reduce((a, s) => a + s.usd_per_million, 0);

  const notes: string[] = [];
  // A run whose stages carry no Redis bytes would report a Redis cost of zero without saying so.
  if (run.redisBytes > 0 && stages.every((s) => s.redis_bytes === 0)) {
    notes.push(`the run holds ${run.redisBytes} bytes in Redis but no stage reports redis_bytes, so Redis memory is not costed`);
  }

  let onlineCost: OnlineCost | null = null;
  if (online) {
    const usd_per_decision = (online.cpu_s / online.decisions / 3600) * prices.vcpuHour;
    onlineCost = {
      decisions: online.decisions,
      cpu_s: online.cpu_s,
      wall_s: online.wall_s,
      redis_bytes_per_user: online.redis_bytes_per_user ?? null,
      usd_per_decision,
      budget_usd: ONLINE_BUDGET_USD_PER_DECISION,
      within_budget: usd_per_decision <= ONLINE_BUDGET_USD_PER_DECISION,
    };
  }

  return {
    version: run.version,
    as_of: run.as_of,
    finished_at: run.finished_at,
    users: run.users,
    total_s: run.total_s,
    cpu_s: run.cpu_s,
    keep_versions: keepVersions,
    prices: { ...prices },
    usd,
    cost_per_million_usd,
    projection_120m_usd_per_day: cost_per_million_usd * PROJECTION_MILLIONS_PER_DAY,
    budget_per_million_usd: BATCH_BUDGET_USD_PER_MILLION,
    within_budget: cost_per_million_usd <= BATCH_BUDGET_USD_PER_MILLION,
    stages,
    online: onlineCost,
    notes,
  };
}
