/** Tree settings of the production uplift models (jobs/train/train-uplift.ts) and the Hillstrom check. */
import type { GbdtParams } from './gbdt';

/** Rare positives (1-10%): shallow trees, slow shrinkage and a floor on child hessian. */
export const UPLIFT_GBDT_PARAMS: Readonly<GbdtParams> = Object.freeze({
  nTrees: 300,
  learningRate: 0.05,
  maxDepth: 4,
  minChildWeight: 5,
  lambda: 5,
  subsample: 0.8,
  colsample: 0.8,
  earlyStoppingRounds: 30,
  seed: 7,
});
