/** Public surface of models/: baseline training, metrics, ONNX export and inference, registry, promotion. */
export {
  computeStandardisation,
  predict,
  trainLogisticHeads,
  trainLogisticRegression,
  type LogisticModel,
  type Standardisation,
  type TrainOptions,
} from './logistic-regression';
export { auc, baseRate, brier, ece, evaluateBinary, logLoss, type BinaryMetrics, type Scores } from './metrics';
export {
  exportLinearSigmoidOnnx,
  META,
  ONNX_INPUT,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_OUTPUT,
  readOnnxMetadata,
  stackHeads,
  type ExportOptions,
  type LinearHeads,
} from './onnx-export';
export { OnnxScorer, type ScorerOptions } from './onnx-scorer';
export {
  comparePromotion,
  DEFAULT_PROMOTION_TOLERANCE,
  type PromotionDelta,
  type PromotionTolerance,
  type PromotionVerdict,
} from './promotion';
export { promoteModel, rollbackCandidates, rollbackModel, type PromoteOptions, type PromoteResult, type RollbackResult } from './promote';
export {
  ADJUSTER_REGISTRY_DIR,
  appendHistory,
  CURRENT_FILE,
  headMetricsSchema,
  HISTORY_FILE,
  historyEntrySchema,
  listModels,
  loadCurrent,
  loadModel,
  MANIFEST_FILE,
  manifestSchema,
  MODEL_FILE,
  MODEL_KINDS,
  outputColumns,
  parseManifest,
  readCurrent,
  readHistory,
  readManifest,
  saveModel,
  setCurrent,
  sha256Hex,
  type HeadMetrics,
  type HistoryEntry,
  type LoadedModel,
  type ModelKind,
  type ModelListing,
  type ModelManifest,
  upliftOutputs,
} from './registry';
export { predictMargin, predictProba, trainGbdt, type GbdtData, type GbdtModel, type GbdtParams, type GbdtTree } from './gbdt';
export { exportTreeEnsembleOnnx, predictTargets, type TreeExportOptions, type TreeTarget } from './onnx-tree-export';
export { applyIsotonic, applyPlatt, fitIsotonic, fitPlatt, reliabilityBins, weightedEce, type IsotonicModel, type PlattModel } from './calibration';
export { auuc, pearson, qiniCoefficient, qiniCurve, upliftAtTopK } from './uplift-metrics';
export { bootstrapCi, drEstimate, ipsEstimate, snipsEstimate, type LoggedBandit } from './ope';
export { ipwWeights } from './ipw';
export { evaluateUplift, type UpliftEval } from './uplift-evaluation';
export { splitModelOutputs, UPLIFT_OUTPUT_WIDTH } from './model-outputs';
export { ADJUSTER_GBDT_PARAMS, ADJUSTER_FIT_FRACTION } from './adjuster-params';
export { ADJUSTER_FEATURE_SET_HASH, ADJUSTER_KIND, adjusterManifestProblem, adjusterRegistryDir, loadCurrentAdjuster } from './adjuster-registry';
