/**
 * Validation of a built score version before it may go live. Pure: takes the figures, returns
 * every check with its verdict; the caller flips only when all pass.
 */
import { ACTIONS } from '../../core/actions';
import { means, psi, type ScoreStats } from './chunk-stats';

export interface ValidationInput {
  expectedUsers: number;
  publishedUsers: number;
  stats: ScoreStats;
  previous?: ScoreStats;
  modelVersion: string;
  chunkModelVersions: string[];
  minCoverage: number;
  maxMeanShift: number;
}
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
export interface ValidationResult {
  ok: boolean;
  checks: Check[];
}

export function validateVersion(v: ValidationInput): ValidationResult {
  const checks: Check[] = [];
  const coverage = v.expectedUsers > 0 ? v.publishedUsers / v.expectedUsers : 0;
  checks.push({
    name: 'user_count',
    ok: v.expectedUsers > 0 && v.publishedUsers === v.stats.users && coverage >= v.minCoverage && v.publishedUsers <= v.expectedUsers,
    detail: `${v.publishedUsers} published in Redis, ${v.stats.users} scored, ${v.expectedUsers} expected (coverage ${(coverage * 100).toFixed(3)}%, minimum ${(v.minCoverage * 100).toFixed(3)}%)`,
  });
  const cells = v.stats.users * ACTIONS.length;
  checks.push({
    name: 'nan_rate',
    ok: v.stats.nan === 0,
    detail: `${v.stats.nan} NaN/non-finite scores of ${cells}`,
  });
  const other = [...new Set(v.chunkModelVersions.filter((m) => m !== v.modelVersion))];
  checks.push({
    name: 'model_version',
    ok: other.length === 0,
    detail: other.length === 0 ? `every chunk scored with ${v.modelVersion}` : `chunks scored with ${other.join(', ')} instead of ${v.modelVersion}`,
  });
  if (v.previous && v.previous.users > 0) {
    const now = means(v.stats);
    const before = means(v.previous);
    const shifts = ACTIONS.map((a, i) => ({ a, d: Math.abs(now[i] - before[i]), psi: psi(v.previous!.hist[i], v.stats.hist[i]) }));
    const worst = shifts.reduce((x, y) => (y.d > x.d ? y : x));
    checks.push({
      name: 'score_distribution',
      ok: worst.d <= v.maxMeanShift,
      detail: `largest mean shift ${worst.d.toFixed(4)} (${worst.a}, limit ${v.maxMeanShift}); PSI ${shifts.map((s) => `${s.a}=${s.psi.toFixed(3)}`).join(' ')}`,
    });
  } else {
    checks.push({ name: 'score_distribution', ok: true, detail: 'no previous version to compare with' });
  }
  return { ok: checks.every((c) => c.ok), checks };
}
