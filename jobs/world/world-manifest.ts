/**
 * `world.json`: the manifest of a synthetic (or real) payments world directory, written last and
 * atomically by the generator, so a world without it is incomplete by definition. Readers list
 * files through it (never by globbing: a crashed extension may leave files nobody vouches for)
 * and can check each file against its sha256. Contract: docs/world-schema.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { sha256File } from '../../core/object-store';

export const WORLD_MANIFEST_FILE = 'world.json';

/** Tables of a world, in the order they are generated. */
export const WORLD_TABLES = ['users', 'campaigns', 'truth', 'payments', 'decision_log', 'outcomes'] as const;
export type WorldTable = (typeof WORLD_TABLES)[number];
/** Tables Hive-partitioned by `bucket` (all but campaigns). */
export const BUCKETED_TABLES: readonly WorldTable[] = ['users', 'truth', 'payments', 'decision_log', 'outcomes'];

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a YYYY-MM-DD date')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'not a calendar date');

/** A path relative to the world directory, with '/' separators, that cannot escape it. */
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '..' || s === '' || s === '.'), 'must be a relative path inside the world directory');

const fileList = z.array(relPath);

export const WorldManifestSchema = z
  .object({
    /** Manifest format version. */
    format: z.literal(1),
    /** Who wrote the world (`paydecide-gen/<n>` for the synthetic generator). */
    generator: z.string().min(1).optional(),
    seed: z.number().int(),
    users: z.number().int().min(1),
    buckets: z.number().int().min(1).max(65536),
    /** First day of the data, inclusive. */
    start_date: isoDate,
    /** As-of date, exclusive end of the data. */
    date: isoDate,
    /** date - start_date, in days. */
    days: z.number().int().min(1),
    /** First day of the logging policy's decisions (the days before it are feature history only). */
    decision_start_date: isoDate.optional(),
    /** Currencies of the payments (ISO 4217). */
    currency: z.array(z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')).min(1),
    /** Fixed conversion rates used: units of the currency per USD. */
    fx_per_usd: z.record(z.string(), z.number().positive()).optional(),
    /** Per table, the files relative to the world directory. */
    files: z.object({
      users: fileList,
      campaigns: fileList,
      /** Evaluation-only ground truth: synthetic worlds only, absent (empty) for real data. */
      truth: fileList.default([]),
      payments: fileList,
      decision_log: fileList,
      outcomes: fileList,
    }),
    /** sha256 (hex) of every file listed in `files`. */
    sha256: z.record(relPath, z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
    /** Rows per table (all files). */
    rows: z.record(z.string(), z.number().int().min(0)).optional(),
    /** The [from, to) day ranges generated, in order: one for the first run, one per extension. */
    ranges: z.array(z.object({ from: isoDate, to: isoDate })).optional(),
    /** DuckDB version that wrote the files (hash() draws are version-dependent). */
    duckdb_version: z.string().optional(),
    created_at: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.date <= m.start_date) ctx.addIssue({ code: 'custom', path: ['date'], message: `must be after start_date ${m.start_date}` });
    const span = Math.round((Date.parse(`${m.date}T00:00:00Z`) - Date.parse(`${m.start_date}T00:00:00Z`)) / 86_400_000);
    if (m.days !== span) ctx.addIssue({ code: 'custom', path: ['days'], message: `must equal date - start_date (${span})` });
    for (const t of WORLD_TABLES) {
      m.files[t].forEach((f, i) => {
        if (m.sha256[f] === undefined) ctx.addIssue({ code: 'custom', path: ['files', t, i], message: `${f} has no sha256 entry` });
      });
    }
  });

export type WorldManifest = z.infer<typeof WorldManifestSchema>;

/** Reads and validates `<dir>/world.json`. Throws INPUT_MISSING if absent, INPUT_SCHEMA if invalid. */
export function readWorldManifest(dir: string): WorldManifest {
  const file = path.join(dir, WORLD_MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${file} not found: not a complete world (generate one with paydecide gen)`, { details: { file } });
    }
    throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${file} cannot be read: ${(e as Error).message}`, { details: { file }, cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${file} is not valid JSON: ${(e as Error).message}`, { details: { file }, cause: e });
  }
  const r = WorldManifestSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(root)';
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more issues)` : '';
    throw new PaydecideError(ErrorCodes.INPUT_SCHEMA, `${file}: field ${field}: ${issue.message}${more}`, {
      details: { file, field, issues: r.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) },
    });
  }
  return r.data;
}

/** The bucket of a file from its `bucket=K` path segment, or undefined for unpartitioned files. */
export function bucketOfFile(rel: string): number | undefined {
  const m = /(?:^|\/)bucket=(\d+)\//.exec(rel);
  return m ? Number(m[1]) : undefined;
}

/**
 * Absolute paths of a table's Parquet files, in manifest order (by bucket, then date range).
 * With `buckets`, only the files of those buckets (unpartitioned tables such as campaigns are
 * returned whole), so a worker reads just its slice.
 */
export function worldFiles(dir: string, manifest: WorldManifest, table: WorldTable, buckets?: readonly number[]): string[] {
  const files = manifest.files[table];
  const wanted = buckets ? new Set(buckets) : undefined;
  return files
    .filter((rel) => {
      if (!wanted) return true;
      const b = bucketOfFile(rel);
      return b === undefined || wanted.has(b);
    })
    .map((rel) => path.resolve(dir, ...rel.split('/')));
}

export { sha256File };

/**
 * Checks files of the world against the manifest's sha256 (all files, or the given relative
 * paths). Throws INPUT_MISSING for an absent file and INPUT_CORRUPT for a mismatch, naming it.
 */
export async function verifyWorldFiles(dir: string, manifest: WorldManifest, rels?: readonly string[]): Promise<void> {
  const list = rels ?? WORLD_TABLES.flatMap((t) => manifest.files[t]);
  for (const rel of list) {
    const expected = manifest.sha256[rel];
    const file = path.resolve(dir, ...rel.split('/'));
    if (!fs.existsSync(file)) throw new PaydecideError(ErrorCodes.INPUT_MISSING, `${file} is listed in ${WORLD_MANIFEST_FILE} but missing`, { details: { file } });
    const actual = await sha256File(file);
    if (actual !== expected) {
      throw new PaydecideError(ErrorCodes.INPUT_CORRUPT, `${file}: sha256 ${actual} does not match ${WORLD_MANIFEST_FILE} (${expected ?? 'none'})`, {
        details: { file, expected, actual },
      });
    }
  }
}
