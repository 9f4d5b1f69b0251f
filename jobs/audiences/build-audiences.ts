/**
 * The nightly's last stage: every audience spec sending tonight becomes a published audience.
 * Reads the night's scored snapshot and the exposure history (audience-inputs.ts), runs the
 * policy (audiences/audience-selection.ts), and publishes per audience Parquet parts, the
 * added/removed users against the previous published date, and the manifest — written last, so
 * a reader never sees a half-written audience; the previous date stays readable whatever
 * happens. Before any manifest, the night's exposures (the rows actually sent) are recorded in
 * the store: tomorrow's caps, cooldowns, fatigue and budgets count them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { epochDay } from '../../core/dates';
import { FEATURE_SET_HASH } from '../../core/feature-registry';
import type { Logger } from '../../core/logger';
import { sha256File, type ObjectStore } from '../../core/object-store';
import { fetchVerifiedPart, manifestKeys, readAudienceManifest } from '../../audiences/audience-catalog';
import {
  AUDIENCE_COLUMNS,
  EXPOSURES,
  MANIFEST_FORMAT,
  exposuresManifestSchema,
  manifestKey,
  parseManifest,
  type AudienceManifest,
  type ExposuresManifest,
  type Part,
} from '../../audiences/audience-manifest';
import { HOLDOUT, selectAudiences, type AudienceRule } from '../../audiences/audience-selection';
import { loadAudienceSpecs, sendsOn } from '../../audiences/audience-spec';
import type { PolicyConfig } from '../../policy/policy-config';
import { closeDuckDB, openDuckDB, sqlString, type DuckOptions } from '../duckdb';
import { loadCampaigns } from '../nightly/load-campaigns';
import { readWorldManifest, worldFiles } from '../world';
import { readExposureHistory, readSelectionUsers } from './audience-inputs';

export interface BuildAudiencesOptions {
  dataDir: string;
  /** The send day: the nightly's as-of date. */
  asOf: string;
  /** The score version the audiences come from, and its model. */
  scoresVersion: string;
  modelVersion: string;
  /** The night's snapshot folder (features/as_of=D with score_<action> columns). */
  snapshotDir: string;
  store: ObjectStore;
  specsDir: string;
  policy: PolicyConfig;
  duck: DuckOptions;
  logger: Logger;
}

export interface BuiltAudience {
  audience: string;
  campaign_id: number;
  rows: number;
  rows_sent: number;
  spent_usd: number;
  available_usd: number;
}

export interface BuildAudiencesResult {
  date: string;
  run: string;
  users: number;
  selectedUsers: number;
  exploredUsers: number;
  audiences: BuiltAudience[];
  /** Specs not sending on this date (outside their send window or their campaign's dates). */
  skipped: string[];
  /** Bytes uploaded to the store. */
  bytes: number;
  seconds: { read: number; select: number; write: number };
}

/** Rows per Parquet part of an audience. */
const PART_ROWS = 1_000_000;

export async function buildAudiences(o: BuildAudiencesOptions): Promise<BuildAudiencesResult> {
  const log = o.logger;
  const t0 = performance.now();
  const world = readWorldManifest(o.dataDir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-audiences-'));
  const d = await openDuckDB(o.duck);
  try {
    const campaigns = await loadCampaigns(d.instance, worldFiles(o.dataDir, world, 'campaigns'));
    const specs = loadAudienceSpecs(o.specsDir, campaigns);
    const byId = new Map(campaigns.map((c) => [c.campaign_id, c]));
    // An audience sends inside its send window while its campaign runs; the others wait.
    const running = (s: (typeof specs)[number]) => {
      const c = byId.get(s.campaign_id)!;
      return sendsOn(s, o.asOf) && o.asOf >= c.start_date && o.asOf <= c.end_date;
    };
    const active = specs.filter(running);
    const skipped = specs.filter((s) => !running(s)).map((s) => s.audience);
    await o.store.check();
    const run = `${o.scoresVersion}-${Date.now().toString(36)}`;

    // Earlier nights: what they spent per campaign, and their exposures within the cap window.
    const windowDays = Math.max(30, ...active.map((s) => byId.get(s.campaign_id)!.cooldown_days));
    const nights = await readExposureManifests(o.store, o.asOf);
    const spentBefore = new Map<number, number>();
    for (const n of nights) for (const [cid, usd] of Object.entries(n.spent_by_campaign)) spentBefore.set(Number(cid), (spentBefore.get(Number(cid)) ?? 0) + usd);
    const ledgerFiles: string[] = [];
    for (const n of nights.filter((x) => epochDay(x.date) >= epochDay(o.asOf) - windowDays)) {
      for (const p of n.parts) {
        const f = path.join(tmp, 'ledger', n.date, path.basename(p.file));
        fs.mkdirSync(path.dirname(f), { recursive: true });
        await fetchVerifiedPart(o.store, `${EXPOSURES}/date=${n.date}`, p, f);
        ledgerFiles.push(f);
      }
    }

    const users = await readSelectionUsers(d.conn, path.join(o.snapshotDir, 'bucket=*', '*.parquet'), worldFiles(o.dataDir, world, 'users'));
    const history = await readExposureHistory(d.conn, worldFiles(o.dataDir, world, 'decision_log'), ledgerFiles, o.asOf, windowDays);
    const t1 = performance.now();

    // Audiences of one campaign share what the campaign has left.
    const perCampaign = new Map<number, number>();
    for (const s of active) perCampaign.set(s.campaign_id, (perCampaign.get(s.campaign_id) ?? 0) + 1);
    const rules: AudienceRule[] = active.map((spec) => {
      const campaign = byId.get(spec.campaign_id)!;
      const left = Math.max(0, campaign.budget_usd - (spentBefore.get(campaign.campaign_id) ?? 0));
      return { spec, campaign, remainingUsd: Math.min(spec.budget_usd, left / perCampaign.get(spec.campaign_id)!) };
    });
    const sel = selectAudiences(o.policy, users, rules, history, epochDay(o.asOf), o.asOf);
    const t2 = performance.now();
    log.info({ date: o.asOf, audiences: rules.length, users: users.n, selected: sel.selectedUsers, explored: sel.exploredUsers, s: +((t2 - t1) / 1000).toFixed(2) }, 'audiences selected');

    // Rows into DuckDB (user index + policy numbers; ids and scores join from aud_users).
    await d.conn.run(`CREATE OR REPLACE TEMP TABLE aud_rows (aud USMALLINT, idx UINTEGER, campaign_id SMALLINT, action VARCHAR, score FLOAT, expected_value_usd DOUBLE, expected_cost_usd DOUBLE, propensity DOUBLE, holdout_kind UTINYINT)`);
    const app = await d.conn.createAppender('aud_rows');
    sel.audiences.forEach((a, k) => {
      const r = a.rows;
      const c = rules[k].campaign;
      for (let j = 0; j < r.user.length; j++) {
        app.appendUSmallInt(k);
        app.appendUInteger(r.user[j]);
        app.appendSmallInt(c.campaign_id);
        app.appendVarchar(c.action);
        app.appendFloat(r.score[j]);
        app.appendDouble(r.value[j]);
        app.appendDouble(r.cost[j]);
        app.appendDouble(r.propensity[j]);
        app.appendUTinyInt(r.holdout[j]);
        app.endRow();
      }
    });
    app.closeSync();

    const putPart = async (key: string, file: string, rows: number): Promise<Part> => {
      const part: Part = { file: key.slice(key.indexOf('run=')), rows, bytes: fs.statSync(file).size, sha256: await sha256File(file) };
      await o.store.putFile(key, file);
      return part;
    };
    const bytesBefore = o.store.stats.bytesWritten;

    // 1. Parts and deltas of every audience (invisible until their manifests exist).
    const built: { manifest: AudienceManifest; previousRuns: string[] }[] = [];
    for (let k = 0; k < rules.length; k++) {
      const { spec, campaign } = rules[k];
      const out = sel.audiences[k];
      const folder = `${spec.audience}/date=${o.asOf}`;
      const local = path.join(tmp, spec.audience);
      fs.mkdirSync(local, { recursive: true });
      const n = out.rows.user.length;
      const parts: Part[] = [];
      for (let p = 0; p === 0 || p * PART_ROWS < n; p++) {
        const name = `part-${String(p).padStart(5, '0')}.parquet`;
        const f = path.join(local, name);
        await copyAudienceRows(d.conn, k, f, p * PART_ROWS, PART_ROWS);
        parts.push(await putPart(`${folder}/run=${run}/${name}`, f, Math.min(PART_ROWS, n - p * PART_ROWS)));
      }
      const previous = await previousManifest(o.store, spec.audience, o.asOf);
      const delta = await writeDelta(d.conn, o.store, k, previous, local);
      const deltaParts = {
        added: await putPart(`${folder}/run=${run}/delta-added.parquet`, delta.addedFile, delta.added),
        removed: await putPart(`${folder}/run=${run}/delta-removed.parquet`, delta.removedFile, delta.removed),
      };
      const holdG = countHoldout(out.rows.holdout, HOLDOUT.GLOBAL);
      const holdC = countHoldout(out.rows.holdout, HOLDOUT.CAMPAIGN);
      const manifest: AudienceManifest = {
        format: MANIFEST_FORMAT,
        audience: spec.audience,
        campaign_id: campaign.campaign_id,
        campaign_name: campaign.name,
        action: campaign.action,
        channel: campaign.channel,
        date: o.asOf,
        run,
        rows: n,
        rows_sent: n - holdG - holdC,
        rows_holdout: { global: holdG, campaign: holdC },
        parts,
        schema: AUDIENCE_COLUMNS.map((c) => ({ ...c })),
        delta: { previous_date: previous?.date ?? null, added: delta.added, removed: delta.removed, parts: deltaParts },
        versions: { scores: o.scoresVersion, model: o.modelVersion, feature_set: FEATURE_SET_HASH, policy: o.policy.version },
        budget: { daily_usd: spec.budget_usd, available_usd: round6(rules[k].remainingUsd), spent_usd: round6(out.spentUsd) },
        expected_value_usd: round6(out.valueUsd),
        excluded: out.excluded as Record<string, number>,
        spec: spec as unknown as Record<string, unknown>,
        created_at: new Date().toISOString(),
      };
      const previousRuns = (await o.store.list(`${folder}/`)).map((x) => x.key).filter((key) => !key.includes(`/run=${run}/`) && !key.endsWith('/manifest.json'));
      built.push({ manifest, previousRuns });
    }

    // 2. Tonight's exposures (sent rows only), before any manifest: counted by tomorrow's caps.
    const expFile = path.join(tmp, 'exposures.parquet');
    await d.conn.run(
      `COPY (SELECT u.user_id, r.campaign_id, DATE ${sqlString(o.asOf)} AS date FROM aud_rows r JOIN aud_users u USING (idx)
             WHERE r.holdout_kind = ${HOLDOUT.NONE} ORDER BY u.user_id) TO ${sqlString(expFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const sentRows = built.reduce((a, b) => a + b.manifest.rows_sent, 0);
    const expFolder = `${EXPOSURES}/date=${o.asOf}`;
    const expPart = await putPart(`${expFolder}/run=${run}/exposures.parquet`, expFile, sentRows);
    const spentByCampaign: Record<string, number> = {};
    for (const b of built) spentByCampaign[b.manifest.campaign_id] = round6((spentByCampaign[b.manifest.campaign_id] ?? 0) + b.manifest.budget.spent_usd);
    const expPrev = (await o.store.list(`${expFolder}/`)).map((x) => x.key).filter((key) => !key.includes(`/run=${run}/`) && !key.endsWith('/manifest.json'));
    const exposures: ExposuresManifest = { date: o.asOf, run, rows: sentRows, parts: [expPart], spent_by_campaign: spentByCampaign, audiences: built.map((b) => b.manifest.audience), created_at: new Date().toISOString() };
    await o.store.put(`${expFolder}/manifest.json`, `${JSON.stringify(exposures, null, 2)}\n`);

    // 3. Manifests: each audience appears whole; then the files of replaced runs go.
    for (const b of built) await o.store.put(manifestKey(b.manifest.audience, o.asOf), `${JSON.stringify(b.manifest, null, 2)}\n`);
    await o.store.delete([...built.flatMap((b) => b.previousRuns), ...expPrev]);
    const t3 = performance.now();

    return {
      date: o.asOf,
      run,
      users: users.n,
      selectedUsers: sel.selectedUsers,
      exploredUsers: sel.exploredUsers,
      audiences: built.map((b) => ({ audience: b.manifest.audience, campaign_id: b.manifest.campaign_id, rows: b.manifest.rows, rows_sent: b.manifest.rows_sent, spent_usd: b.manifest.budget.spent_usd, available_usd: b.manifest.budget.available_usd })),
      skipped,
      bytes: o.store.stats.bytesWritten - bytesBefore,
      seconds: { read: (t1 - t0) / 1000, select: (t2 - t1) / 1000, write: (t3 - t2) / 1000 },
    };
  } finally {
    closeDuckDB(d);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function countHoldout(h: Uint8Array, kind: number): number {
  let n = 0;
  for (let i = 0; i < h.length; i++) if (h[i] === kind) n++;
  return n;
}

async function copyAudienceRows(conn: DuckDBConnection, aud: number, file: string, offset: number, limit: number): Promise<void> {
  await conn.run(
    `COPY (SELECT u.user_id, r.campaign_id, r.action, r.score, r.expected_value_usd, r.expected_cost_usd, r.propensity,
                  r.holdout_kind <> ${HOLDOUT.NONE} AS holdout,
                  CASE r.holdout_kind WHEN ${HOLDOUT.GLOBAL} THEN 'global' WHEN ${HOLDOUT.CAMPAIGN} THEN 'campaign' ELSE '' END AS holdout_kind
           FROM aud_rows r JOIN aud_users u USING (idx) WHERE r.aud = ${aud}
           ORDER BY u.user_id LIMIT ${limit} OFFSET ${offset})
     TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
  );
}

/** The audience's newest manifest of a date before `date`, if any. */
async function previousManifest(store: ObjectStore, audience: string, date: string): Promise<AudienceManifest | undefined> {
  const keys = (await manifestKeys(store, audience)).filter((k) => k.date < date);
  if (keys.length === 0) return undefined;
  return readAudienceManifest(store, audience, keys[keys.length - 1].date);
}

/** Added and removed users against the previous manifest's (verified) parts. */
async function writeDelta(conn: DuckDBConnection, store: ObjectStore, aud: number, previous: AudienceManifest | undefined, local: string): Promise<{ addedFile: string; removedFile: string; added: number; removed: number }> {
  const prevFiles: string[] = [];
  if (previous) {
    for (const p of previous.parts) {
      const f = path.join(local, 'previous', path.basename(p.file));
      fs.mkdirSync(path.dirname(f), { recursive: true });
      await fetchVerifiedPart(store, `${previous.audience}/date=${previous.date}`, p, f);
      prevFiles.push(f);
    }
  }
  const prev = prevFiles.length ? `SELECT user_id FROM read_parquet([${prevFiles.map(sqlString).join(", ")}], hive_partitioning = false)` : `SELECT NULL::VARCHAR AS user_id WHERE false`;
  const cur = `SELECT u.user_id FROM aud_rows r JOIN aud_users u USING (idx) WHERE r.aud = ${aud}`;
  const addedFile = path.join(local, 'delta-added.parquet');
  const removedFile = path.join(local, 'delta-removed.parquet');
  await conn.run(`COPY (SELECT user_id FROM (${cur} EXCEPT ${prev}) ORDER BY user_id) TO ${sqlString(addedFile)} (FORMAT parquet, COMPRESSION zstd)`);
  await conn.run(`COPY (SELECT user_id FROM (${prev} EXCEPT ${cur}) ORDER BY user_id) TO ${sqlString(removedFile)} (FORMAT parquet, COMPRESSION zstd)`);
  const count = async (f: string) => Number((await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet(${sqlString(f)})`)).getRows()[0][0]);
  return { addedFile, removedFile, added: await count(addedFile), removed: await count(removedFile) };
}

/** Exposure manifests of nights before `date`, oldest first. */
async function readExposureManifests(store: ObjectStore, date: string): Promise<ExposuresManifest[]> {
  const keys = (await store.list(`${EXPOSURES}/`)).map((x) => x.key).filter((k) => /^_exposures\/date=\d{4}-\d{2}-\d{2}\/manifest\.json$/.test(k));
  const out: ExposuresManifest[] = [];
  for (const k of keys.sort()) {
    const m = parseManifest(exposuresManifestSchema, await store.get(k), `${store.url}/${k}`);
    if (m.date < date) out.push(m);
  }
  return out;
}
