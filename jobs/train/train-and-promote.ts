/**
 * Train the uplift models and let the registry's promotion rules decide whether they go live:
 * a candidate no worse than the live model (models/promotion.ts tolerances) becomes current;
 * a worse one stays in the registry as a refused candidate and the live model keeps scoring.
 * The placeholder baseline (kind baseline-lr) is always replaced: it has no uplift to compare.
 */
import type { Config } from '../../core/config';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { promoteModel } from '../../models/promote';
import { loadCurrent, type ModelManifest } from '../../models/registry';
import { trainSettings, trainUplift, type TrainedUplift } from './train-uplift';

export interface TrainAndPromoteResult extends TrainedUplift {
  promoted: boolean;
  /** Why the candidate was refused (empty when promoted). */
  reasons: string[];
  previous: string | null;
}

export async function trainAndPromote(cfg: Config, o: { dataDir: string; asOf: string; logger?: Logger; force?: boolean }): Promise<TrainAndPromoteResult> {
  const trained = await trainUplift({
    dataDir: o.dataDir,
    asOf: o.asOf,
    ...trainSettings(cfg),
    logger: o.logger,
  });
  let live: ModelManifest | null = null;
  try {
    live = (await loadCurrent(cfg.modelsDir)).manifest;
  } catch (e) {
    if (!(e instanceof PaydecideError && (e.code === ErrorCodes.NO_MODEL || e.code === ErrorCodes.MODEL_INVALID))) throw e;
  }
  const replacePlaceholder = live !== null && live.kind !== trained.manifest.kind;
  try {
    const r = await promoteModel(cfg.modelsDir, trained.manifest.version, cfg.promotion, { force: o.force === true || replacePlaceholder || live === null });
    o.logger?.info({ model: trained.manifest.version, previous: r.previous, promoted: r.promoted, forced: r.forced }, 'model promotion');
    return { ...trained, promoted: true, reasons: r.forced ? r.verdict.reasons : [], previous: r.previous };
  } catch (e) {
    if (!(e instanceof PaydecideError && e.code === ErrorCodes.PROMOTION_REFUSED)) throw e;
    o.logger?.warn({ model: trained.manifest.version, live: live?.version, reason: e.message }, 'candidate model refused; the live model keeps scoring');
    const reasons = ((e.details as { verdict?: { reasons?: string[] } } | undefined)?.verdict?.reasons ?? [e.message]);
    return { ...trained, promoted: false, reasons, previous: live?.version ?? null };
  }
}
