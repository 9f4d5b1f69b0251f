/**
 * Score statistics of a chunk, mergeable across chunks, that validation compares with the
 * previous version: per action count, sum, sum of squares, a 20-bin histogram; NaNs; users.
 */
import { ACTIONS } from '../../core/actions';

export const HIST_BINS = 20;

export interface ScoreStats {
  users: number;
  nan: number;
  inactive: number;
  sum: number[];
  sumSq: number[];
  hist: number[][];
}

export function emptyStats(): ScoreStats {
  return {
    users: 0,
    nan: 0,
    inactive: 0,
    sum: ACTIONS.map(() => 0),
    sumSq: ACTIONS.map(() => 0),
    hist: ACTIONS.map(() => new Array(HIST_BINS).fill(0)),
  };
}

/** Adds n users' scores (row-major n × ACTIONS.length). */
export function addScores(s: ScoreStats, scores: Float32Array, n: number): void {
  const h = ACTIONS.length;
  s.users += n;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < h; a++) {
      const v = scores[i * h + a];
      if (!Number.isFinite(v)) {
        s.nan++;
        continue;
      }
      s.sum[a] += v;
      s.sumSq[a] += v * v;
      s.hist[a][Math.min(HIST_BINS - 1, Math.max(0, Math.floor(v * HIST_BINS)))]++;
    }
  }
}

export function mergeStats(parts: ScoreStats[]): ScoreStats {
  const m = emptyStats();
  for (const p of parts) {
    m.users += p.users;
    m.nan += p.nan;
    m.inactive += p.inactive;
    for (let a = 0; a < ACTIONS.length; a++) {
      m.sum[a] += p.sum[a];
      m.sumSq[a] += p.sumSq[a];
      for (let b = 0; b < HIST_BINS; b++) m.hist[a][b] += p.hist[a][b];
    }
  }
  return m;
}

export function means(s: ScoreStats): number[] {
  return s.sum.map((x) => (s.users > 0 ? x / s.users : 0));
}

/** Population stability index between two histograms (with a small floor per bin). */
export function psi(expected: number[], actual: number[]): number {
  const te = expected.reduce((a, b) => a + b, 0) || 1;
  const ta = actual.reduce((a, b) => a + b, 0) || 1;
  let v = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] / te, 1e-4);
    const a = Math.max(actual[i] / ta, 1e-4);
    v += (a - e) * Math.log(a / e);
  }
  return v;
}
