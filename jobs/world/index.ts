/** The synthetic payments world: generation/extension and the world.json manifest. */
export {
  generateWorld,
  validateGenerateOptions,
  GENERATOR_ID,
  DECISION_WARMUP_DAYS,
  MAX_DAYS,
  MAX_BUCKETS,
  WORLD_FX_PER_USD,
  type GenerateOptions,
  type GenerateProgress,
} from './generate-world';
export {
  readWorldManifest,
  worldFiles,
  verifyWorldFiles,
  bucketOfFile,
  sha256File,
  WorldManifestSchema,
  WORLD_MANIFEST_FILE,
  WORLD_TABLES,
  BUCKETED_TABLES,
  type WorldManifest,
  type WorldTable,
} from './world-manifest';
export { resolveWorldDir, publishWorld, mirrorDir } from './world-mirror';
