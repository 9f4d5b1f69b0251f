/**
 * What a scoring model's output columns mean for the policy. Two layouts exist:
 *   - the uplift models (kind `gbdt-uplift`): 10 columns, `uptake_<a>` for the five offer actions
 *     then `base_<a>` (the goal's rate without the offer); uplift = uptake − base;
 *   - the placeholder baseline (kind `baseline-lr`): one probability per action (6 columns),
 *     which stands for both uptake and uplift.
 * Either way the nightly gets per user and action (ACTIONS order) an uptake score and an uplift;
 * `none` has uptake 0 and uplift 0 in the uplift layout (it is the reference, not an offer).
 */
import { ACTIONS, OFFER_ACTIONS } from '../core/actions';
import { ErrorCodes, PaydecideError } from '../core/errors';

export const UPLIFT_OUTPUT_WIDTH = 2 * OFFER_ACTIONS.length;

/**
 * Splits `rows` rows of model output (row-major, `width` wide) into `scores` and `uplift`
 * (row-major rows × ACTIONS.length, written from index 0).
 */
export function splitModelOutputs(out: Float32Array, rows: number, width: number, scores: Float32Array, uplift: Float32Array): void {
  const H = ACTIONS.length;
  const G = OFFER_ACTIONS.length;
  if (out.length < rows * width || scores.length < rows * H || uplift.length < rows * H) throw new RangeError('splitModelOutputs: arrays too short');
  if (width === UPLIFT_OUTPUT_WIDTH) {
    for (let i = 0; i < rows; i++) {
      const o = i * width;
      const s = i * H;
      for (let g = 0; g < G; g++) {
        // OFFER_ACTIONS is ACTIONS without the trailing `none`: index g is the same action
        scores[s + g] = out[o + g];
        uplift[s + g] = out[o + g] - out[o + G + g];
      }
      scores[s + G] = 0;
      uplift[s + G] = 0;
    }
  } else if (width === H) {
    scores.set(out.subarray(0, rows * H));
    uplift.set(out.subarray(0, rows * H));
  } else {
    throw new PaydecideError(ErrorCodes.MODEL_INVALID, `model has ${width} output columns; expected ${UPLIFT_OUTPUT_WIDTH} (uplift models) or ${H} (baseline)`);
  }
}
