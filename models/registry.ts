/**
 * The local model registry (config `modelsDir`):
 *   <dir>/<version>/model.onnx + manifest.json   one folder per version, written once
 *   <dir>/CURRENT                                the current version's name
 *   <dir>/HISTORY.jsonl                          promotion log: one JSON line per promote, rollback
 *                                                or refusal, appended (O_APPEND), never rewritten
 * Versions are published by writing a temp folder and renaming it (readers never see half a
 * version); CURRENT is replaced by temp file + rename. Manifests are immutable, so a version's
 * status (candidate, promoted, refused) lives in HISTORY, not in its manifest. Promote/rollback
 * rules live in promotion.ts (pure) and promote.ts (I/O).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, PaydecideError } from '../core/errors';

export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';
export const CURRENT_FILE = 'CURRENT';
export const HISTORY_FILE = 'HISTORY.jsonl';

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const versionSchema = z.string().regex(VERSION_RE, 'letters, digits, . _ - (1-128 chars, not starting with . _ -)');
const count = z.number().int().min(0);

export const headMetricsSchema = z.object({
  /** null when a class is missing from the evaluation rows (AUC undefined). */
  auc: z.number().min(0).max(1).nullable(),
  logloss: z.number().min(0),
  ece: z.number().min(0).max(1),
  rows: count,
  positives: count,
  /** Area under the uplift curve (uplift models); may be negative. */
  auuc: z.number().finite().optional(),
  /** Qini coefficient (uplift models); may be negative. */
  qini: z.number().finite().optional(),
  /** How the head's scores were calibrated after training. */
  calibration: z.enum(['platt', 'isotonic', 'none']).optional(),
});

/**
 * `gbdt-adjuster`: the online adjuster (jobs/train/train-adjuster.ts), kept in a registry of its
 * own under `<modelsDir>/adjuster` (ADJUSTER_REGISTRY_DIR), with the uplift models' output layout.
 */
export const MODEL_KINDS = ['baseline-lr', 'gbdt-uplift', 'gbdt-adjuster'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The adjuster registry's folder inside the models folder; never a version of the uplift registry. */
export const ADJUSTER_REGISTRY_DIR = 'adjuster';

/**
 * The ONNX output columns of a gbdt-uplift model over `actions`: `uptake_<a>` for each offer
 * action (every action but `none`), then `base_<a>` for each.
 */
export function upliftOutputs(actions: readonly string[]): string[] {
  const offers = actions.filter((a) => a !== 'none');
  return [...offers.map((a) => `uptake_${a}`), ...offers.map((a) => `base_${a}`)];
}

/** A manifest's ONNX output columns: `outputs`, or one column per action when absent (baseline-lr). */
export function outputColumns(m: Pick<ModelManifest, 'actions' | 'outputs'>): string[] {
  return m.outputs ?? [...m.actions];
}

export const manifestSchema = z
  .object({
    version: versionSchema,
    kind: z.enum(MODEL_KINDS),
    created_at: z.iso.datetime({ offset: true }),
    /** Output heads, in the model's column order. */
    actions: z.array(z.string().min(1)).min(1),
    /**
     * ONNX output columns, in order. Required for gbdt-uplift (see upliftOutputs); absent for
     * baseline-lr, meaning one column per action in `actions` order.
     */
    outputs: z.array(z.string().min(1)).min(1).optional(),
    /** Input columns, in order. */
    features: z.array(z.string().min(1)).min(1),
    feature_set_hash: z.string().min(1),
    training: z.object({
      as_of: z.string().min(1),
      window_start: z.string().min(1),
      window_end: z.string().min(1),
      rows: count,
      positives_per_action: z.record(z.string(), count),
      data_hash: z.string().min(1),
      /** Attribution window (seconds) used to label each action. */
      label_windows_s: z.record(z.string(), z.number().finite().positive()).optional(),
      train_rows: count.optional(),
      valid_rows: count.optional(),
      test_rows: count.optional(),
      /** The held-out test period the metrics were measured on. */
      test_window: z.object({ start: z.string().min(1), end: z.string().min(1) }).optional(),
    }),
    metrics: z.record(z.string(), headMetricsSchema),
    /** gbdt-adjuster: the uplift model whose scores it was trained over (its inputs). */
    base_model_version: versionSchema.optional(),
    onnx_sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  })
  .superRefine((m, ctx) => {
    const dup = (xs: string[]) => xs.find((x, i) => xs.indexOf(x) !== i);
    const da = dup(m.actions);
    if (da) ctx.addIssue({ code: 'custom', path: ['actions'], message: `duplicate action ${da}` });
    const df = dup(m.features);
    if (df) ctx.addIssue({ code: 'custom', path: ['features'], message: `duplicate feature ${df}` });
    if (m.kind === 'gbdt-uplift' || m.kind === 'gbdt-adjuster') {
      const want = upliftOutputs(m.actions);
      if (!m.outputs) ctx.addIssue({ code: 'custom', path: ['outputs'], message: `required for ${m.kind}` });
      else if (m.outputs.join('\n') !== want.join('\n')) {
        ctx.addIssue({ code: 'custom', path: ['outputs'], message: `must be ${want.join(',')} for ${m.kind} over these actions` });
      }
      if (m.kind === 'gbdt-adjuster' && !m.base_model_version) ctx.addIssue({ code: 'custom', path: ['base_model_version'], message: 'required for gbdt-adjuster' });
    } else if (m.outputs && m.outputs.join('\n') !== m.actions.join('\n')) {
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'a baseline-lr model has one output per action, in actions order (or no outputs field)' });
    }
    for (const a of m.actions) {
      if (!(a in m.metrics)) ctx.addIssue({ code: 'custom', path: ['metrics', a], message: 'missing metrics for action' });
      if (!(a in m.training.positives_per_action)) {
        ctx.addIssue({ code: 'custom', path: ['training', 'positives_per_action', a], message: 'missing count for action' });
      }
    }
  });

export type ModelManifest = z.infer<typeof manifestSchema>;
export type HeadMetrics = z.infer<typeof headMetricsSchema>;

export interface LoadedModel {
  manifest: ModelManifest;
  onnxBytes: Uint8Array;
  /** Path of model.onnx. */
  path: string;
  /** Path of the version folder. */
  versionDir: string;
}

export interface ModelListing {
  version: string;
  current: boolean;
  /** null when the manifest cannot be read or is invalid; `problem` then says why. */
  manifest: ModelManifest | null;
  problem?: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function invalid(message: string, cause?: unknown): PaydecideError {
  return new PaydecideError(ErrorCodes.MODEL_INVALID, message, cause !== undefined ? { cause } : {});
}
const isEnoent = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';
const tmpSuffix = () => `${process.pid}-${randomBytes(6).toString('hex')}`;

function checkVersion(version: string): void {
  if (!VERSION_RE.test(version)) throw invalid(`invalid model version name '${version}'`);
}

/** Validates a manifest object; MODEL_INVALID naming every failing field. */
export function parseManifest(raw: unknown, source = 'manifest'): ModelManifest {
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw invalid(`${source} is invalid: ${msg}`);
  }
  return r.data;
}

async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await fs.open(file, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    await fh.close();
  }
}

/**
 * Writes a new version: validates the manifest, checks the bytes against `onnx_sha256`, writes a
 * temp folder and renames it into place. Refuses (MODEL_INVALID) to overwrite an existing version.
 */
export async function saveModel(dir: string, manifest: ModelManifest, onnxBytes: Uint8Array): Promise<LoadedModel> {
  const m = parseManifest(manifest);
  const actual = sha256Hex(onnxBytes);
  if (actual !== m.onnx_sha256) throw invalid(`manifest onnx_sha256 ${m.onnx_sha256} does not match the model bytes (${actual})`);
  await fs.mkdir(dir, { recursive: true });
  const final = path.join(dir, m.version);
  const exists = await fs.stat(final).then(() => true, (e) => (isEnoent(e) ? false : Promise.reject(e)));
  if (exists) throw invalid(`model version ${m.version} already exists in ${dir}; versions are never overwritten`);
  const tmp = path.join(dir, `.tmp-${m.version}-${tmpSuffix()}`);
  await fs.mkdir(tmp);
  try {
    await writeFileSynced(path.join(tmp, MODEL_FILE), onnxBytes);
    await writeFileSynced(path.join(tmp, MANIFEST_FILE), `${JSON.stringify(m, null, 2)}\n`);
    await syncDir(tmp);
    try {
      // rename(2) onto an existing non-empty folder fails, so a concurrent writer cannot be clobbered.
      await fs.rename(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw invalid(`model version ${m.version} already exists in ${dir}`, e);
      throw e;
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await syncDir(dir);
  return { manifest: m, onnxBytes, path: path.join(final, MODEL_FILE), versionDir: final };
}

/** Reads and validates `<dir>/<version>/manifest.json`: NO_MODEL if absent, MODEL_INVALID if bad. */
export async function readManifest(dir: string, version: string): Promise<ModelManifest> {
  checkVersion(version);
  const file = path.join(dir, version, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isEnoent(e)) throw new PaydecideError(ErrorCodes.NO_MODEL, `model version ${version} not found in ${dir} (no ${file})`, { cause: e });
    throw invalid(`cannot read ${file}: ${(e as Error).message}`, e);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid(`${file} is not valid JSON: ${(e as Error).message}`, e);
  }
  const m = parseManifest(raw, file);
  if (m.version !== version) throw invalid(`${file} says version ${m.version}, but lives in folder ${version}`);
  return m;
}

/** Loads a version's manifest and model bytes, verifying the bytes' sha256 against the manifest. */
export async function loadModel(dir: string, version: string): Promise<LoadedModel> {
  const manifest = await readManifest(dir, version);
  const versionDir = path.join(dir, version);
  const file = path.join(versionDir, MODEL_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw invalid(`cannot read ${file}: ${(e as Error).message}`, e);
  }
  const actual = sha256Hex(bytes);
  if (actual !== manifest.onnx_sha256) {
    throw invalid(`${file} is corrupt: sha256 ${actual}, manifest says ${manifest.onnx_sha256}`);
  }
  return { manifest, onnxBytes: bytes, path: file, versionDir };
}

/** The current version's name, or null when there is no CURRENT file. */
export async function readCurrent(dir: string): Promise<string | null> {
  const file = path.join(dir, CURRENT_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isEnoent(e)) return null;
    throw invalid(`cannot read ${file}: ${(e as Error).message}`, e);
  }
  const v = text.trim();
  if (!VERSION_RE.test(v)) throw invalid(`${file} does not hold a version name (${JSON.stringify(text.slice(0, 80))})`);
  return v;
}

/** Points CURRENT at an existing, valid version (temp file + rename: readers see old or new). */
export async function setCurrent(dir: string, version: string): Promise<void> {
  await loadModel(dir, version);
  const tmp = path.join(dir, `.${CURRENT_FILE}.tmp-${tmpSuffix()}`);
  try {
    await writeFileSynced(tmp, `${version}\n`);
    await fs.rename(tmp, path.join(dir, CURRENT_FILE));
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

/** The current model: NO_MODEL when there is none, MODEL_INVALID (naming the file) when it is corrupt. */
export async function loadCurrent(dir: string): Promise<LoadedModel> {
  const version = await readCurrent(dir);
  if (version === null) throw new PaydecideError(ErrorCodes.NO_MODEL, `no current model in ${dir} (no ${CURRENT_FILE} file)`);
  try {
    return await loadModel(dir, version);
  } catch (e) {
    // CURRENT naming a version that is not there is a broken registry, not an empty one.
    if (e instanceof PaydecideError && e.code === ErrorCodes.NO_MODEL) {
      throw invalid(`${path.join(dir, CURRENT_FILE)} points to version ${version}, which is missing: ${e.message}`, e);
    }
    throw e;
  }
}

/** Every version folder (temp folders skipped), oldest first by created_at then name. */
export async function listModels(dir: string): Promise<ModelListing[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isEnoent(e)) return [];
    throw e;
  }
  let current: string | null = null;
  try {
    current = await readCurrent(dir);
  } catch {
    current = null;
  }
  const out: ModelListing[] = [];
  for (const ent of entries) {
    if (!ent.isDirectory() || !VERSION_RE.test(ent.name) || ent.name === ADJUSTER_REGISTRY_DIR) continue;
    try {
      const manifest = await readManifest(dir, ent.name);
      out.push({ version: ent.name, current: ent.name === current, manifest });
    } catch (e) {
      out.push({ version: ent.name, current: ent.name === current, manifest: null, problem: (e as Error).message });
    }
  }
  const t = (l: ModelListing) => (l.manifest ? Date.parse(l.manifest.created_at) : 0);
  return out.sort((a, b) => t(a) - t(b) || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

export const historyEntrySchema = z.object({
  ts: z.iso.datetime({ offset: true }),
  event: z.enum(['promote', 'rollback', 'refused']),
  /** promote: the new current; rollback: the version rolled back to; refused: the candidate. */
  version: versionSchema,
  /** The version that was current when the event happened (null: none). */
  previous: versionSchema.nullable(),
  reason: z.string().optional(),
  /** --force was given: a promote that went through despite failed checks, or a refusal even --force could not override. */
  forced: z.boolean().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/**
 * Appends one event to `<dir>/HISTORY.jsonl` (O_APPEND, one write, fsync'd): concurrent appenders
 * never interleave within a line. A torn last line (a crash mid-append) is closed off first so
 * the new event stays a line of its own. `ts` defaults to now.
 */
export async function appendHistory(dir: string, entry: Omit<HistoryEntry, 'ts'> & { ts?: string }): Promise<HistoryEntry> {
  const r = historyEntrySchema.safeParse({ ts: new Date().toISOString(), ...entry });
  if (!r.success) throw invalid(`history entry is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  await fs.mkdir(dir, { recursive: true });
  // 'a+': O_APPEND for the write, readable to check the last byte.
  const fh = await fs.open(path.join(dir, HISTORY_FILE), 'a+');
  try {
    const { size } = await fh.stat();
    let sep = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) sep = '\n';
    }
    await fh.write(`${sep}${JSON.stringify(r.data)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return r.data;
}

/**
 * The promotion log, oldest first ([] when there is none). A line that is not JSON is a torn
 * append (a crash mid-write) and is skipped; a JSON line that is not a valid event is
 * MODEL_INVALID naming the file and line.
 */
export async function readHistory(dir: string): Promise<HistoryEntry[]> {
  const file = path.join(dir, HISTORY_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isEnoent(e)) return [];
    throw invalid(`cannot read ${file}: ${(e as Error).message}`, e);
  }
  const out: HistoryEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return;
    }
    const r = historyEntrySchema.safeParse(raw);
    if (!r.success) throw invalid(`${file} line ${i + 1} is invalid: ${r.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ')}`);
    out.push(r.data);
  });
  return out;
}
