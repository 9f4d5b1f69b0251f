/** Public surface of models/: baseline training, metrics, ONNX export and inference, registry. */
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
  CURRENT_FILE,
  listModels,
  loadCurrent,
  loadModel,
  MANIFEST_FILE,
  manifestSchema,
  MODEL_FILE,
  parseManifest,
  readCurrent,
  readManifest,
  saveModel,
  setCurrent,
  sha256Hex,
  type HeadMetrics,
  type LoadedModel,
  type ModelListing,
  type ModelManifest,
} from './registry';
