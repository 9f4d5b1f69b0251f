/** Tree settings of the online adjuster (jobs/train/train-adjuster.ts). */
import type { GbdtParams } from './gbdt';

/**
 * Small on purpose: the adjuster sees 18 inputs (ten precomputed scores, eight context features)
 * and learns from the validation split only (the uplift model trained on the rest), so it has
 * few rows; shallow trees and a short budget keep it from memorising them, and it scores one row
 * per request on the online path.
 */
export const ADJUSTER_GBDT_PARAMS: Readonly<GbdtParams> = Object.freeze({
  nTrees: 60,
  learningRate: 0.1,
  maxDepth: 3,
  // 1, not the uplift models' 5: at a 1-2% goal rate the fit rows of a rare goal hold a few
  // hessian units in all, and at 5 its uptake trees could not split on the precomputed score at
  // all (a constant; on a 30k-user world autopay_setup's test AUC fell from 0.82 to 0.50).
  minChildWeight: 1,
  lambda: 5,
  subsample: 0.8,
  colsample: 1,
  earlyStoppingRounds: 10,
  seed: 7,
});

/** Share of the validation split (by time) the adjuster is fitted on; the rest early-stops and calibrates it. */
export const ADJUSTER_FIT_FRACTION = 0.7;
