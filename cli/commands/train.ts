import type { Command } from 'commander';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { trainAndPromoteAdjuster, type TrainAndPromoteAdjusterResult } from '../../jobs/train/train-adjuster';
import { trainAndPromote } from '../../jobs/train/train-and-promote';
import { resolveWorldDir } from '../../jobs/world';
import { dateFlag } from '../flags';
import type { CliContext } from '../main';

const f = (x: number | null | undefined, d: number) => (x === null || x === undefined ? '  -  ' : x.toFixed(d));

interface TrainFlags {
  data: string;
  date: string;
  force?: boolean;
  json?: boolean;
  adjuster?: boolean;
  decisions?: string[];
  outcomes?: string[];
}

function printAdjuster(r: TrainAndPromoteAdjusterResult, json: boolean | undefined): void {
  const m = r.manifest;
  if (json) {
    process.stdout.write(`${JSON.stringify({ manifest: m, promoted: r.promoted, previous: r.previous, reasons: r.reasons, comparison: r.comparison, dataset: r.dataset, seconds: r.seconds })}\n`);
    return;
  }
  process.stdout.write(
    r.promoted
      ? `adjuster ${m.version} is current${r.previous && r.previous !== m.version ? ` (was ${r.previous})` : ''}, over uplift model ${m.base_model_version}: ${m.training.rows} validation and test decisions, test window ${m.training.test_window?.start} .. ${m.training.test_window?.end}${r.reasons.length ? ` (${r.reasons.join('; ')})` : ''}\n`
      : `adjuster ${m.version} trained but NOT promoted; ${r.previous} stays live: ${r.reasons.join('; ')}\n`,
  );
  process.stdout.write('  test split, offered rows: adjusted vs precomputed uptake\n');
  for (const c of r.comparison) {
    const a = c.adjusted;
    const p = c.precomputed;
    process.stdout.write(`  ${c.action.padEnd(18)} AUC ${f(a.auc, 3)} vs ${f(p.auc, 3)}  logloss ${f(a.logloss, 4)} vs ${f(p.logloss, 4)}  ECE ${f(a.ece, 4)} vs ${f(p.ece, 4)}  (${c.rows} rows, ${c.positives} positives)\n`);
  }
}

export function registerTrain(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description('train the uplift models (per action: uptake and baseline trees, calibrated) on the point-in-time training set, export to ONNX, register, and promote when not worse than the live model; with --adjuster, the online adjuster over the current uplift model instead')
    .requiredOption('--data <dir|s3://bucket/prefix>', 'world folder or object-store prefix')
    .requiredOption('--date <YYYY-MM-DD>', 'as-of date (labels must have matured before it)', dateFlag('--date'))
    .option('--adjuster', 'train the online adjuster (precomputed scores + decision context) over the current uplift model, into the registry <models>/adjuster')
    .option('--decisions <paths...>', 'with --adjuster: decision-log Parquet files or folders in the documented schema (e.g. the online service\'s), instead of the world\'s')
    .option('--outcomes <paths...>', 'with --adjuster: outcome Parquet files or folders in the documented schema, instead of the world\'s')
    .option('--force', 'promote even if worse than the live model (a feature mismatch still refuses)')
    .option('--json', 'print the manifest and promotion outcome as JSON')
    .action(async (o: TrainFlags) => {
      const cfg = ctx.config();
      if (!o.adjuster && (o.decisions || o.outcomes)) {
        throw new PaydecideError(ErrorCodes.BAD_FLAG, `${o.decisions ? '--decisions' : '--outcomes'} needs --adjuster (the uplift models train on the world's decision log)`);
      }
      const dataDir = await resolveWorldDir(cfg, o.data, ctx.logger());
      if (o.adjuster) {
        printAdjuster(await trainAndPromoteAdjuster(cfg, { dataDir, asOf: o.date, decisions: o.decisions, outcomes: o.outcomes, logger: ctx.logger(), force: o.force }), o.json);
        return;
      }
      const r = await trainAndPromote(cfg, { dataDir, asOf: o.date, logger: ctx.logger(), force: o.force });
      const m = r.manifest;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ manifest: m, promoted: r.promoted, previous: r.previous, reasons: r.reasons, dataset: r.dataset })}\n`);
        return;
      }
      process.stdout.write(
        r.promoted
          ? `model ${m.version} is current${r.previous ? ` (was ${r.previous})` : ''}: ${m.training.rows} matured decisions, test window ${m.training.test_window?.start} .. ${m.training.test_window?.end}\n`
          : `model ${m.version} trained but NOT promoted; ${r.previous} stays live: ${r.reasons.join('; ')}\n`,
      );
      for (const [a, x] of Object.entries(m.metrics)) {
        process.stdout.write(`  ${a.padEnd(18)} AUC ${f(x.auc, 3)}  logloss ${f(x.logloss, 4)}  ECE ${f(x.ece, 4)}  AUUC ${f(x.auuc, 4)}  Qini ${f(x.qini, 4)}  (${x.rows} offered test rows)\n`);
      }
    });
}
