import type { Command } from 'commander';
import { trainAndPromote } from '../../jobs/train/train-and-promote';
import { resolveWorldDir } from '../../jobs/world';
import { dateFlag } from '../flags';
import type { CliContext } from '../main';

const f = (x: number | null | undefined, d: number) => (x === null || x === undefined ? '  -  ' : x.toFixed(d));

export function registerTrain(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description('train the uplift models (per action: uptake and baseline trees, calibrated) on the point-in-time training set, export to ONNX, register, and promote when not worse than the live model')
    .requiredOption('--data <dir|s3://bucket/prefix>', 'world folder or object-store prefix')
    .requiredOption('--date <YYYY-MM-DD>', 'as-of date (labels must have matured before it)', dateFlag('--date'))
    .option('--force', 'promote even if worse than the live model (a feature mismatch still refuses)')
    .option('--json', 'print the manifest and promotion outcome as JSON')
    .action(async (o: { data: string; date: string; force?: boolean; json?: boolean }) => {
      const cfg = ctx.config();
      const r = await trainAndPromote(cfg, { dataDir: await resolveWorldDir(cfg, o.data, ctx.logger()), asOf: o.date, logger: ctx.logger(), force: o.force });
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
