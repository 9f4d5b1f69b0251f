/**
 * BullMQ names for the nightly run. Every queue lives under the configured PAYDECIDE_PREFIX
 * (BullMQ's `prefix` option), so two prefixes never see each other's jobs.
 */
export const CHUNK_QUEUE = 'nightly-chunks';
export const FINALIZE_QUEUE = 'nightly-finalize';
export const CHUNK_JOB = 'score-chunk';
export const FINALIZE_JOB = 'validate-and-flip';

export function bullPrefix(prefix: string): string {
  return `${prefix}:bull`;
}
export function chunkJobId(version: string, index: number): string {
  return `${version}.chunk.${String(index).padStart(5, '0')}`;
}
export function finalizeJobId(version: string): string {
  return `${version}.finalize`;
}
