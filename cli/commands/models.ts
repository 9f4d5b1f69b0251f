import type { Command } from 'commander';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { adjusterRegistryDir } from '../../models/adjuster-registry';
import { promoteModel, rollbackModel } from '../../models/promote';
import type { PromotionDelta } from '../../models/promotion';
import { listModels, loadModel, outputColumns, readCurrent, readHistory, readManifest, type HeadMetrics, type ModelListing } from '../../models/registry';
import type { CliContext } from '../main';

const num = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '-' : x.toFixed(digits));
const signed = (x: number | null, digits: number) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);
/** AUC/AUUC/ECE of one action, compact ("0.701/0.0312/0.0100"); Qini stands in for a missing AUUC. */
const compact = (m: HeadMetrics) => `${num(m.auc, 3)}/${num(m.auuc ?? m.qini, 4)}/${num(m.ece, 4)}`;

function listingJson(l: ModelListing) {
  const m = l.manifest;
  return {
    version: l.version,
    current: l.current,
    kind: m?.kind ?? null,
    created_at: m?.created_at ?? null,
    as_of: m?.training.as_of ?? null,
    rows: m?.training.rows ?? null,
    metrics: m ? Object.fromEntries(Object.entries(m.metrics).map(([a, x]) => [a, { auc: x.auc, auuc: x.auuc ?? null, qini: x.qini ?? null, ece: x.ece }])) : null,
    problem: l.problem ?? null,
  };
}

function deltaLines(deltas: PromotionDelta[]): string[] {
  return deltas.map((d) => `  ${d.action.padEnd(18)} AUC ${signed(d.auc_delta, 3).padStart(7)}  ${d.uplift_metric === 'qini' ? 'Qini' : 'AUUC'} ${signed(d.auuc_delta, 4).padStart(8)}  ECE ${signed(d.ece_delta, 4).padStart(8)}`);
}

export function registerModels(program: Command, ctx: CliContext): void {
  const models = program.command('models').description('the local model registry: list candidates, show one, promote (guarded against the live model), roll back');

  models
    .command('list')
    .description('every version, oldest first: kind, dates, rows, per-action AUC/AUUC/ECE; * marks the current one')
    .option('--adjuster', 'the online adjuster registry (<models>/adjuster) instead of the uplift models\'')
    .option('--json', 'print a JSON array of {version, current, kind, created_at, as_of, rows, metrics, problem}')
    .action(async (o: { json?: boolean; adjuster?: boolean }) => {
      const cfg = ctx.config();
      const dir = o.adjuster ? adjusterRegistryDir(cfg.modelsDir) : cfg.modelsDir;
      const rows = await listModels(dir);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows.map(listingJson))}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no models in ${dir} (run \`paydecide train${o.adjuster ? ' --adjuster' : ''}\`)\n`);
        return;
      }
      const w = Math.max(7, ...rows.map((r) => r.version.length));
      const lines = [`  ${'version'.padEnd(w)}  kind           created                   as-of       rows      AUC/AUUC/ECE per action`];
      for (const r of rows) {
        const mark = r.current ? '*' : ' ';
        const m = r.manifest;
        if (!m) {
          lines.push(`${mark} ${r.version.padEnd(w)}  PROBLEM: ${r.problem}`);
          continue;
        }
        const metrics = m.actions.map((a) => `${a} ${m.metrics[a] ? compact(m.metrics[a]) : '-'}`).join('  ');
        lines.push(`${mark} ${r.version.padEnd(w)}  ${m.kind.padEnd(13)}  ${m.created_at.padEnd(24)}  ${m.training.as_of.padEnd(10)}  ${String(m.training.rows).padStart(8)}  ${metrics}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  models
    .command('show <version>')
    .description("one version's manifest, whether its ONNX file still matches, and its promotion history")
    .option('--json', 'print {manifest, current, integrity, history} as JSON')
    .action(async (version: string, o: { json?: boolean }) => {
      const dir = ctx.config().modelsDir;
      const m = await readManifest(dir, version);
      const current = await readCurrent(dir).catch(() => null);
      const integrity = await loadModel(dir, version).then(() => 'ok', (e: Error) => e.message);
      const history = (await readHistory(dir)).filter((h) => h.version === version || h.previous === version);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ manifest: m, current: current === version, integrity, history })}\n`);
        return;
      }
      const t = m.training;
      const split = [t.train_rows, t.valid_rows, t.test_rows].some((x) => x !== undefined) ? ` (train ${t.train_rows ?? '-'} / valid ${t.valid_rows ?? '-'} / test ${t.test_rows ?? '-'})` : '';
      const lines = [
        `model ${m.version} (${m.kind})${current === version ? ', CURRENT' : ''}, created ${m.created_at}`,
        `training: as of ${t.as_of}, window ${t.window_start} .. ${t.window_end}, ${t.rows} rows${split}, data ${t.data_hash}`,
        ...(t.test_window ? [`test window: ${t.test_window.start} .. ${t.test_window.end}`] : []),
        ...(t.label_windows_s ? [`label windows: ${Object.entries(t.label_windows_s).map(([a, s]) => `${a} ${s} s`).join(', ')}`] : []),
        `features (${m.features.length}, set ${m.feature_set_hash}): ${m.features.join(', ')}`,
        `outputs (${outputColumns(m).length}): ${outputColumns(m).join(', ')}`,
        `onnx sha256 ${m.onnx_sha256}: ${integrity === 'ok' ? 'matches' : integrity}`,
        'metrics:',
        ...Object.entries(m.metrics).map(
          ([a, x]) => `  ${a.padEnd(18)} AUC ${num(x.auc, 3)}  AUUC ${num(x.auuc, 4)}  Qini ${num(x.qini, 4)}  ECE ${num(x.ece, 4)}  logloss ${num(x.logloss, 4)}  calibration ${x.calibration ?? '-'}  (${x.rows} rows, ${x.positives} positives)`,
        ),
        history.length === 0 ? 'history: none' : 'history:',
        ...history.map((h) => `  ${h.ts}  ${h.event.padEnd(8)} ${h.version} (previous ${h.previous ?? 'none'})${h.forced ? ' forced' : ''}${h.reason ? `: ${h.reason}` : ''}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  models
    .command('promote <version>')
    .description('make a version current if it is no worse than the live model (tolerances PAYDECIDE_PROMOTE_TOL_*); refused: exit 2 with the reasons')
    .option('--force', 'promote despite worse metrics or a different kind/outputs (never despite a different feature list)')
    .option('--json', 'print {version, promoted, refused, previous, forced, verdict} as JSON (also when refused)')
    .action(async (version: string, o: { force?: boolean; json?: boolean }) => {
      const cfg = ctx.config();
      let r;
      try {
        r = await promoteModel(cfg.modelsDir, version, cfg.promotion, { force: o.force });
      } catch (e) {
        if (o.json && e instanceof PaydecideError && e.code === ErrorCodes.PROMOTION_REFUSED) {
          process.stdout.write(`${JSON.stringify({ version, promoted: false, refused: true, previous: e.details?.previous ?? null, forced: false, verdict: e.details?.verdict })}\n`);
        }
        throw e;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ version, promoted: r.promoted, refused: false, previous: r.previous, forced: r.forced, verdict: r.verdict })}\n`);
        return;
      }
      if (!r.promoted) {
        process.stdout.write(`model ${version} already is current; nothing changed\n`);
        return;
      }
      const lines = [`model ${version} is current${r.previous ? ` (was ${r.previous})` : ' (first current model)'}`];
      if (r.forced) lines.push(`forced despite: ${r.verdict.reasons.join('; ')}`);
      if (r.verdict.deltas.length > 0) lines.push(`change against ${r.previous}:`, ...deltaLines(r.verdict.deltas));
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  models
    .command('rollback')
    .description('make current again the version that was current before the last promote (from HISTORY.jsonl)')
    .option('--json', 'print {from, to, skipped} as JSON')
    .action(async (o: { json?: boolean }) => {
      const r = await rollbackModel(ctx.config().modelsDir);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(`model ${r.to} is current again (was ${r.from ?? 'none'})${r.skipped.length ? `; passed over ${r.skipped.join(', ')}, which no longer load` : ''}\n`);
    });
}
