/**
 * The online adjuster's registry: the same registry functions (registry.ts, promote.ts) over the
 * folder `<modelsDir>/adjuster`, and the loader the online service uses. An adjuster's inputs are
 * ADJUSTER_FEATURES (core/context-features.ts); its outputs are the uplift models' ten columns
 * (`uptake_<a>`, then `base_<a>`), so models/model-outputs.ts splitModelOutputs reads both alike.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { OFFER_ACTIONS } from '../core/actions';
import { ADJUSTER_FEATURES } from '../core/context-features';
import { ErrorCodes, PaydecideError } from '../core/errors';
import { ADJUSTER_REGISTRY_DIR, loadCurrent, upliftOutputs, type LoadedModel, type ModelManifest } from './registry';

export const ADJUSTER_KIND = 'gbdt-adjuster' as const;

/** What an adjuster manifest records as `feature_set_hash`: the adjuster input list, hashed. */
export const ADJUSTER_FEATURE_SET_HASH = createHash('sha256').update(ADJUSTER_FEATURES.join('\n')).digest('hex').slice(0, 16);

/** `<modelsDir>/adjuster`: the adjuster registry folder. */
export function adjusterRegistryDir(modelsDir: string): string {
  return path.join(modelsDir, ADJUSTER_REGISTRY_DIR);
}

/** Why a manifest cannot serve as this build's adjuster (null: it can). */
export function adjusterManifestProblem(m: ModelManifest): string | null {
  if (m.kind !== ADJUSTER_KIND) return `kind is ${m.kind}, not ${ADJUSTER_KIND}`;
  if (m.features.join('\n') !== ADJUSTER_FEATURES.join('\n') || m.feature_set_hash !== ADJUSTER_FEATURE_SET_HASH) {
    return `its ${m.features.length} input features (set ${m.feature_set_hash}) are not this build's ${ADJUSTER_FEATURES.length} adjuster features (set ${ADJUSTER_FEATURE_SET_HASH})`;
  }
  const want = upliftOutputs(OFFER_ACTIONS);
  if ((m.outputs ?? []).join('\n') !== want.join('\n')) return `its outputs are not ${want.join(',')}`;
  return null;
}

/**
 * The current adjuster, or null when none is current (no CURRENT file). A current adjuster that
 * is corrupt or does not match this build's input features is MODEL_INVALID, naming why: the
 * caller decides to serve the precomputed scores instead (fail-open), but it should say so.
 * Callers should also compare `manifest.base_model_version` with the model version of the scores
 * they adjust: an adjuster trained over another uplift model sees inputs it was not trained on.
 */
export async function loadCurrentAdjuster(modelsDir: string): Promise<LoadedModel | null> {
  const dir = adjusterRegistryDir(modelsDir);
  let m: LoadedModel;
  try {
    m = await loadCurrent(dir);
  } catch (e) {
    if (e instanceof PaydecideError && e.code === ErrorCodes.NO_MODEL) return null;
    throw e;
  }
  const problem = adjusterManifestProblem(m.manifest);
  if (problem !== null) throw new PaydecideError(ErrorCodes.MODEL_INVALID, `current adjuster ${m.manifest.version} in ${dir} cannot be used: ${problem}`);
  return m;
}
