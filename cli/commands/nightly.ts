import type { Command } from 'commander';
import { runNightly } from '../../jobs/nightly/run-nightly';
import { resolveWorldDir } from '../../jobs/world';
import { dateFlag, intFlag } from '../flags';
import type { CliContext } from '../main';
import { createProgress } from '../progress';

export function registerNightly(program: Command, ctx: CliContext): void {
  program
    .command('nightly')
    .description('features → scoring → publish → validate → flip, as a BullMQ flow with one child job per bucket range')
    .requiredOption('--data <dir|s3://bucket/prefix>', 'world folder (from `paydecide gen`); an s3:// world is mirrored into PAYDECIDE_CACHE_DIR first')
    .requiredOption('--date <YYYY-MM-DD>', 'as-of date of the features', dateFlag('--date'))
    .option('--workers <k>', 'concurrent chunk jobs in this process, one worker thread each (0 = only external `paydecide worker`s)', intFlag('--workers', 0, 64), 2)
    .option('--train', 'retrain the baseline model first even if one is current')
    .option('--full', "rebuild the payment features from 90 days of payments instead of moving the previous night's state on by a day")
    .option('--no-audiences', "do not build tonight's audiences after the flip")
    .option('--json', 'print the result as JSON')
    .action(async (o: { data: string; date: string; workers: number; train?: boolean; full?: boolean; audiences: boolean; json?: boolean }) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      const bar = createProgress('nightly', 'chunks', log);
      const dataDir = await resolveWorldDir(cfg, o.data, log);
      const r = await runNightly(cfg, {
        dataDir,
        asOf: o.date,
        workers: o.workers,
        train: o.train,
        full: o.full,
        audiences: o.audiences,
        logger: log,
        onProgress: (p) => bar.update(p.done, p.total, p.users),
      }).finally(() => bar.stop());
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const lines = [
        `published version ${r.version}${r.resumed ? ' (resumed)' : ''}: ${r.users} users, model ${r.modelVersion}, previous live ${r.previousLive ?? '-'}`,
        `redis ~${(r.redisBytes / 1e6).toFixed(1)} MB (${(r.redisBytes / Math.max(1, r.users)).toFixed(1)} bytes/user), ${r.chunks} chunks, ${r.total_s.toFixed(1)} s wall, ${r.cpu_s.toFixed(1)} CPU-s in this process`,
        `payment features: ${r.featureModes.incremental} chunks moved on from yesterday's state, ${r.featureModes.full} rebuilt from 90 days${r.featureModes.fullReasons.length ? ` (${r.featureModes.fullReasons[0]})` : ''}`,
        `stages: ${r.stages.map((s) => `${s.name} ${s.wall_s.toFixed(2)}s`).join(', ')}`,
        `checks: ${r.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ')}`,
      ];
      if (r.retired.length) lines.push(`retired: ${r.retired.join(', ')}`);
      if (r.audiences) lines.push(`audiences: ${r.audiences.published} published to ${r.audiences.store} (${r.audiences.rows} rows, ${r.audiences.rows_sent} to send; ${r.audiences.skipped} specs not sending today)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
