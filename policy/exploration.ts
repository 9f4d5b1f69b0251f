/**
 * ε-greedy exploration over a user's eligible options with the propensity of the chosen one
 * recorded (what off-policy evaluation and the uplift learners weight by). The draw is a stable
 * hash of (user, day, salt), so a rerun of the same night explores the same way; with K options
 * the greedy one is chosen with probability 1 − ε + ε/K and each other with ε/K.
 */
import type { PolicyConfig } from './policy-config';
import { unitHash } from './stable-hash';

export interface Explored {
  /** Index into the options of the one chosen. */
  index: number;
  /** Probability that this policy chose it. */
  propensity: number;
  /** Whether the exploration branch chose it (rather than the greedy one). */
  explored: boolean;
}

/** Picks among `k` options (≥ 1) whose greedy choice is `greedy`. */
export function explore(cfg: Pick<PolicyConfig, 'epsilon' | 'exploration_salt'>, userId: string, day: number, k: number, greedy: number): Explored {
  if (!(k >= 1) || greedy < 0 || greedy >= k) throw new RangeError(`explore: greedy ${greedy} outside 0..${k - 1}`);
  const eps = cfg.epsilon;
  const pGreedy = 1 - eps + eps / k;
  if (k === 1 || eps === 0) return { index: greedy, propensity: 1, explored: false };
  const u = unitHash('explore', cfg.exploration_salt, day, userId);
  if (u >= eps) return { index: greedy, propensity: pGreedy, explored: false };
  // u / eps is uniform on [0, 1) within the exploration branch
  const index = Math.min(k - 1, Math.floor((u / eps) * k));
  return { index, propensity: index === greedy ? pGreedy : eps / k, explored: true };
}
