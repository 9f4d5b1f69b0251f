import path from 'node:path';
import type { Command } from 'commander';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { isS3Url } from '../../core/object-store';
import { generateWorld, mirrorDir, publishWorld, resolveWorldDir } from '../../jobs/world';
import { dateFlag, intFlag, todayUtc } from '../flags';
import type { CliContext } from '../main';
import { createProgress } from '../progress';

export function registerGen(program: Command, ctx: CliContext): void {
  program
    .command('gen')
    .description('generate (or extend to a later --date) a deterministic synthetic payments world as Parquet')
    .requiredOption('--out <dir|s3://bucket/prefix>', 'output folder or object-store prefix (a later --date extends an existing world)')
    .option('--users <n>', "number of users (required for a new world; an extension keeps the world's)", intFlag('--users', 1, 500_000_000))
    .option('--days <n>', 'days of history before --date', intFlag('--days', 1, 730), 90)
    .option('--date <YYYY-MM-DD>', 'as-of date: data ends the day before (default: today, UTC)', dateFlag('--date'))
    .option('--seed <s>', 'random seed', intFlag('--seed', 0, 2 ** 31 - 1), 1)
    .option('--buckets <n>', 'data partitions (buckets) per table', intFlag('--buckets', 1, 4096), 64)
    .option('--json', 'print the world manifest summary as JSON')
    .action(async (o: { out: string; users?: number; days: number; date?: string; seed: number; buckets: number; json?: boolean }) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      const bars = new Map<string, ReturnType<typeof createProgress>>();
      const t0 = performance.now();
      // An s3:// world is generated (or extended) in its local mirror, then uploaded.
      const s3 = isS3Url(o.out);
      const outDir = s3
        ? await resolveWorldDir(cfg, o.out, log).catch((e: unknown) => {
            // a new world: nothing in the store yet
            if (e instanceof PaydecideError && e.code === ErrorCodes.INPUT_MISSING && o.users) return mirrorDir(cfg, o.out);
            throw e;
          })
        : path.resolve(o.out);
      const m = await generateWorld({
        out: outDir,
        users: o.users,
        days: o.days,
        date: o.date ?? todayUtc(),
        seed: o.seed,
        buckets: o.buckets,
        duck: { threads: cfg.duckdbThreads, memory: cfg.duckdbMemory },
        logger: log,
        onProgress: (p) => {
          let b = bars.get(p.stage);
          if (!b) {
            for (const other of bars.values()) other.stop();
            b = createProgress(`gen ${p.stage}`, 'steps', log);
            bars.set(p.stage, b);
          }
          b.update(p.done, p.total, p.rows ?? 0);
        },
      });
      for (const b of bars.values()) b.stop();
      if (s3) await publishWorld(cfg, outDir, m, o.out, log);
      const secs = (performance.now() - t0) / 1000;
      const summary = { out: s3 ? o.out : path.resolve(o.out), users: m.users, start_date: m.start_date, date: m.date, buckets: m.buckets, seed: m.seed, files: Object.values(m.files).reduce((a, f) => a + f.length, 0), seconds: Number(secs.toFixed(2)) };
      if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else process.stdout.write(`world ${summary.out}: ${m.users} users, ${m.start_date} .. ${m.date} (as-of), ${m.buckets} buckets, ${summary.files} files, ${secs.toFixed(1)} s\n`);
    });
}

