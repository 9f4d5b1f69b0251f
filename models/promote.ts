/**
 * Guarded promotion and rollback over the local registry: the rules are comparePromotion's
 * (promotion.ts); this file loads the models, moves CURRENT and appends to HISTORY.jsonl.
 * CURRENT is moved first and the event logged second: CURRENT is the truth the nightly reads, and
 * a crash in between loses a log line, never a promotion the log claims.
 */
import { ErrorCodes, PaydecideError } from '../core/errors';
import { comparePromotion, DEFAULT_PROMOTION_TOLERANCE, type PromotionTolerance, type PromotionVerdict } from './promotion';
import { appendHistory, loadModel, readCurrent, readHistory, setCurrent, type ModelManifest } from './registry';

export interface PromoteOptions {
  /** Promote despite failed metric, kind or output checks; a feature mismatch still refuses. */
  force?: boolean;
}

export interface PromoteResult {
  /** false when the version already was current (nothing written). */
  promoted: boolean;
  /** The version that was current before (null: none). */
  previous: string | null;
  verdict: PromotionVerdict;
  /** Promoted through --force despite a failed check. */
  forced: boolean;
}

export interface RollbackResult {
  /** The version that was current (null when CURRENT was missing or unreadable). */
  from: string | null;
  to: string;
  /** Earlier versions passed over because they no longer load. */
  skipped: string[];
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Makes `version` current if it passes comparePromotion against the current model; otherwise
 * logs a 'refused' event and throws PROMOTION_REFUSED (exit 2) listing the reasons. A current
 * model that cannot be loaded cannot be compared with, so replacing it takes --force.
 */
export async function promoteModel(dir: string, version: string, tol: PromotionTolerance = DEFAULT_PROMOTION_TOLERANCE, opts: PromoteOptions = {}): Promise<PromoteResult> {
  const candidate = (await loadModel(dir, version)).manifest;
  let previous: string | null = null;
  let live: ModelManifest | null = null;
  let liveProblem: string | null = null;
  try {
    previous = await readCurrent(dir);
    if (previous !== null) live = (await loadModel(dir, previous)).manifest;
  } catch (e) {
    liveProblem = `the current model${previous ? ` ${previous}` : ''} cannot be loaded to compare against (${msg(e)})`;
  }
  if (previous === version && liveProblem === null) {
    return { promoted: false, previous, verdict: comparePromotion(candidate, live, tol), forced: false };
  }
  let verdict = comparePromotion(candidate, live, tol);
  if (liveProblem !== null) verdict = { ...verdict, ok: false, reasons: [liveProblem, ...verdict.reasons] };

  const force = opts.force === true;
  if (!verdict.ok && (!force || verdict.blocking.length > 0)) {
    const reason = verdict.reasons.join('; ');
    await appendHistory(dir, { event: 'refused', version, previous, reason, ...(force ? { forced: true } : {}) });
    const hint = verdict.blocking.length > 0 ? ' (--force cannot override a feature mismatch: scoring would feed the model the wrong columns)' : ' (--force promotes anyway)';
    throw new PaydecideError(ErrorCodes.PROMOTION_REFUSED, `model ${version} not promoted over ${previous ? `live ${previous}` : 'the current model'}: ${reason}${hint}`, {
      details: { version, previous, verdict },
    });
  }
  await setCurrent(dir, version);
  const forced = !verdict.ok;
  await appendHistory(dir, { event: 'promote', version, previous, ...(forced ? { forced: true, reason: verdict.reasons.join('; ') } : {}) });
  return { promoted: true, previous, verdict, forced };
}

/**
 * Replays HISTORY into the stack of versions each still-standing promote replaced (a rollback
 * pops down to and including the version it went back to), so repeated rollbacks walk further back.
 */
export function rollbackCandidates(history: readonly { event: string; version: string; previous: string | null }[]): (string | null)[] {
  const stack: (string | null)[] = [];
  for (const e of history) {
    if (e.event === 'promote') stack.push(e.previous);
    else if (e.event === 'rollback') {
      const i = stack.lastIndexOf(e.version);
      if (i >= 0) stack.length = i;
    }
  }
  return stack;
}

/**
 * Makes current again the version that was current before the last promote still standing,
 * passing over versions that no longer load; logs a 'rollback' event. NO_ROLLBACK when there is
 * nothing to go back to.
 */
export async function rollbackModel(dir: string): Promise<RollbackResult> {
  const history = await readHistory(dir);
  const stack = rollbackCandidates(history);
  let from: string | null = null;
  try {
    from = await readCurrent(dir);
  } catch {
    from = null; // a junk CURRENT is exactly what a rollback should be able to repair
  }
  const skipped: string[] = [];
  let to: string | null = null;
  for (let i = stack.length - 1; i >= 0 && to === null; i--) {
    const v = stack[i];
    if (v === null || v === from) continue;
    try {
      await loadModel(dir, v);
      to = v;
    } catch {
      skipped.push(v);
    }
  }
  if (to === null) {
    const why = !history.some((e) => e.event === 'promote')
      ? 'no promotion in its history'
      : stack.length === 0
        ? 'every promotion in its history has already been rolled back'
        : skipped.length > 0 ? `the earlier version(s) ${skipped.join(', ')} no longer load` : 'no model was current before the first promotion';
    throw new PaydecideError(ErrorCodes.NO_ROLLBACK, `cannot roll back the model registry in ${dir}: ${why}`);
  }
  await setCurrent(dir, to);
  await appendHistory(dir, { event: 'rollback', version: to, previous: from, ...(skipped.length > 0 ? { reason: `passed over ${skipped.join(', ')} (no longer load)` } : {}) });
  return { from, to, skipped };
}
