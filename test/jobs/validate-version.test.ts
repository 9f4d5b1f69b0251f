import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../core/actions';
import { addScores, emptyStats, mergeStats, psi } from '../../jobs/nightly/chunk-stats';
import { validateVersion } from '../../jobs/nightly/validate-version';

function stats(n: number, level: number, nan = 0) {
  const s = emptyStats();
  const x = new Float32Array(n * ACTIONS.length).map((_, i) => (i % 7 === 0 && nan-- > 0 ? NaN : level + ((i % 13) - 6) / 100));
  addScores(s, x, n);
  return s;
}
const base = { modelVersion: 'm1', chunkModelVersions: ['m1', 'm1'], minCoverage: 0.999, maxMeanShift: 0.1 };

describe('version validation', () => {
  it('passes a complete, finite version close to the previous one', () => {
    const r = validateVersion({ ...base, expectedUsers: 1000, publishedUsers: 1000, stats: stats(1000, 0.3), previous: stats(900, 0.32) });
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual(['user_count', 'nan_rate', 'model_version', 'score_distribution']);
  });
  it('fails on missing users, NaNs, a foreign model and a shifted distribution, naming each', () => {
    const r = validateVersion({ ...base, chunkModelVersions: ['m1', 'm0'], expectedUsers: 1000, publishedUsers: 990, stats: stats(990, 0.6, 3), previous: stats(1000, 0.3) });
    expect(r.ok).toBe(false);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['user_count', 'nan_rate', 'model_version', 'score_distribution']);
    expect(r.checks.find((c) => c.name === 'nan_rate')!.detail).toMatch(/^3 /);
  });
  it('fails when Redis holds fewer users than were scored', () => {
    const r = validateVersion({ ...base, expectedUsers: 1000, publishedUsers: 999, stats: stats(1000, 0.3) });
    expect(r.checks[0].ok).toBe(false);
  });
  it('merges chunk stats exactly and measures drift with PSI', () => {
    const a = stats(100, 0.2);
    const b = stats(50, 0.4);
    const m = mergeStats([a, b]);
    expect(m.users).toBe(150);
    expect(m.sum[0]).toBeCloseTo(a.sum[0] + b.sum[0]);
    expect(psi(a.hist[0], a.hist[0])).toBeCloseTo(0);
    expect(psi(a.hist[0], b.hist[0])).toBeGreaterThan(0.1);
  });
});
