/**
 * What the service holds per live score version, refreshed without a restart: the version's
 * campaigns (written into its metadata by the nightly) and the current online adjuster from the
 * model registry. A request sees the live version in its one Redis read; the first request on a
 * version the process has not seen yet loads that version's campaigns (one extra read, once per
 * version per replica). The adjuster registry is re-read when its CURRENT file changes (checked
 * at most every `adjusterCheckMs`), so `train adjuster` + promote reaches running replicas.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger';
import { CURRENT_FILE } from '../models/registry';
import { OnnxScorer } from '../models/onnx-scorer';
import { loadCurrentAdjuster } from '../models/adjuster-registry';
import { campaignSchema, type Campaign } from '../policy/campaign';
import type { OnlineStore } from './online-store';

export interface LoadedAdjuster {
  version: string;
  /** The uplift model whose scores it adjusts; it applies only to records scored by that model. */
  baseModelVersion: string | null;
  scorer: OnnxScorer;
}

export type AdjusterStatus = { state: 'loaded'; adjuster: LoadedAdjuster } | { state: 'missing'; why: string } | { state: 'off' };

export class LiveState {
  private readonly campaigns = new Map<string, Promise<Campaign[] | null>>();
  private adjusterStatus: AdjusterStatus;
  private adjusterStamp = '';
  private lastCheck = -Infinity;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly store: OnlineStore,
    private readonly modelsDir: string,
    enabled: boolean,
    private readonly log: Logger,
    private readonly adjusterCheckMs = 5000,
  ) {
    this.adjusterStatus = enabled ? { state: 'missing', why: 'not loaded yet' } : { state: 'off' };
  }

  /** Registry folder of the adjusters (models/adjuster-registry.ts). */
  get adjusterDir(): string {
    return path.join(this.modelsDir, 'adjuster');
  }

  /** The campaigns of `version`, or null when its metadata has none (or they do not validate). */
  campaignsOf(version: string): Promise<Campaign[] | null> {
    let p = this.campaigns.get(version);
    if (!p) {
      p = this.store.versionCampaigns(version).then((raw) => {
        if (raw === null) return null;
        const parsed = campaignSchema.array().safeParse(JSON.parse(raw));
        if (!parsed.success) {
          this.log.error({ version, issue: parsed.error.issues[0]?.message }, 'the live version carries invalid campaigns');
          return null;
        }
        if (this.campaigns.size > 8) this.campaigns.delete(this.campaigns.keys().next().value!);
        return parsed.data;
      });
      // a failed read is retried by the next request, not cached
      p.catch(() => this.campaigns.delete(version));
      this.campaigns.set(version, p);
    }
    return p;
  }

  /** The adjuster as last loaded; starts a background re-check when the last one is old. */
  get adjuster(): AdjusterStatus {
    this.maybeReloadAdjuster();
    return this.adjusterStatus;
  }

  /** Loads the current adjuster now (start-up and tests). */
  async reloadAdjuster(): Promise<void> {
    if (this.adjusterStatus.state === 'off') return;
    this.lastCheck = performance.now();
    let stamp = '';
    try {
      // async: this runs in the background of a request, never blocking the loop
      const file = path.join(this.adjusterDir, CURRENT_FILE);
      const st = await fs.stat(file);
      stamp = `${st.mtimeMs}:${st.size}:${(await fs.readFile(file, 'utf8')).trim()}`;
    } catch {
      stamp = 'none';
    }
    if (stamp === this.adjusterStamp && this.adjusterStatus.state === 'loaded') return;
    this.adjusterStamp = stamp;
    try {
      const m = await loadCurrentAdjuster(this.modelsDir);
      if (!m) {
        this.adjusterStatus = { state: 'missing', why: `no current adjuster in ${this.adjusterDir}` };
        return;
      }
      const scorer = await OnnxScorer.load(m.onnxBytes, { threads: 1 });
      const base = (m.manifest as { base_model_version?: string }).base_model_version ?? null;
      this.adjusterStatus = { state: 'loaded', adjuster: { version: m.manifest.version, baseModelVersion: base, scorer } };
      this.log.info({ adjuster: m.manifest.version, base_model: base }, 'online adjuster loaded');
    } catch (e) {
      this.adjusterStatus = { state: 'missing', why: (e as Error).message };
      this.log.warn({ err: (e as Error).message }, 'online adjuster could not be loaded');
    }
  }

  private maybeReloadAdjuster(): void {
    if (this.adjusterStatus.state === 'off' || this.checking) return;
    if (performance.now() - this.lastCheck < this.adjusterCheckMs) return;
    this.checking = this.reloadAdjuster().finally(() => {
      this.checking = null;
    });
  }
}
