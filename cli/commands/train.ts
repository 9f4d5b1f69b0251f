import type { Command } from 'commander';
import { trainBaseline } from '../../jobs/train/train-baseline';
import { resolveWorldDir } from '../../jobs/world';
import { dateFlag } from '../flags';
import type { CliContext } from '../main';

export function registerTrain(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description('train the baseline per-action models on matured decisions, export to ONNX and make them current')
    .requiredOption('--data <dir|s3://bucket/prefix>', 'world folder or object-store prefix')
    .requiredOption('--date <YYYY-MM-DD>', 'as-of date (labels must have matured before it)', dateFlag('--date'))
    .option('--json', 'print the manifest as JSON')
    .action(async (o: { data: string; date: string; json?: boolean }) => {
      const cfg = ctx.config();
      const m = await trainBaseline({ dataDir: await resolveWorldDir(cfg, o.data, ctx.logger()), asOf: o.date, modelsDir: cfg.modelsDir, duck: { threads: cfg.duckdbThreads, memory: cfg.duckdbMemory }, ortThreads: cfg.ortThreads, logger: ctx.logger() });
      if (o.json) process.stdout.write(`${JSON.stringify(m)}\n`);
      else {
        process.stdout.write(`model ${m.version} is current (${m.training.rows} matured decisions, features as of ${m.training.window_start})\n`);
        for (const [a, x] of Object.entries(m.metrics)) process.stdout.write(`  ${a.padEnd(18)} AUC ${x.auc === null ? '  -  ' : x.auc.toFixed(3)}  logloss ${x.logloss.toFixed(4)}  ECE ${x.ece.toFixed(4)}  (${x.rows} held-out rows)\n`);
      }
    });
}
