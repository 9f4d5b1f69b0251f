/** `paydecide dataset build`: the point-in-time training set as Parquet (jobs/dataset). */
import type { Command } from 'commander';
import { buildDatasetFiles } from '../../jobs/dataset/publish-dataset';
import { resolveWorldDir } from '../../jobs/world';
import { dateFlag, intFlag } from '../flags';
import { lastRunRef } from '../last-run';
import type { CliContext } from '../main';

export function registerDataset(program: Command, ctx: CliContext): void {
  const ds = program.command('dataset').description('point-in-time training sets');
  ds.command('build')
    .description('join every matured logged decision to the feature snapshot live when it was made, with last-touch labels; write Parquet')
    .requiredOption('--out <dir|s3://bucket/prefix>', 'where dataset.parquet and dataset.json go')
    .option('--as-of <YYYY-MM-DD>', 'labels and features use only data before this date (default: the last nightly\'s date)', dateFlag('--as-of'))
    .option('--data <dir|s3://bucket/prefix>', 'world folder (default: the last nightly\'s)')
    .option('--decisions <paths...>', 'decision-log Parquet files or folders in the documented schema, instead of the world\'s')
    .option('--outcomes <paths...>', 'outcome Parquet files or folders in the documented schema, instead of the world\'s')
    .option('--snapshot-every <days>', 'days between feature snapshots', intFlag('--snapshot-every', 1, 90), 7)
    .option('--json', 'print the summary as JSON')
    .action(async (o: { out: string; asOf?: string; data?: string; decisions?: string[]; outcomes?: string[]; snapshotEvery: number; json?: boolean }) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      const ref = o.data && o.asOf ? { data: o.data, asOf: o.asOf } : { ...(await lastRunRef(cfg, 'the world and date')), ...(o.data ? { data: o.data } : {}), ...(o.asOf ? { asOf: o.asOf } : {}) };
      const r = await buildDatasetFiles(cfg, { dataDir: await resolveWorldDir(cfg, ref.data, log), asOf: ref.asOf, out: o.out, decisions: o.decisions, outcomes: o.outcomes, snapshotEveryDays: o.snapshotEvery, logger: log });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(`wrote ${r.out}: ${r.rows} matured decisions as of ${ref.asOf} (${(r.bytes / 1e6).toFixed(1)} MB, sha256 ${r.sha256.slice(0, 12)}…)\n`);
      for (const [s, x] of Object.entries(r.splits)) process.stdout.write(`  ${s.padEnd(5)} ${String(x.rows).padStart(9)} rows  ${x.start ?? '-'} .. ${x.end ?? '-'}\n`);
      process.stdout.write(`  feature snapshots: ${r.snapshotDates.join(', ')}\n`);
    });
}
