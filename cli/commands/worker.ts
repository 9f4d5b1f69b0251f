import type { Command } from 'commander';
import { connectRedis } from '../../core/redis';
import { startWorkers } from '../../jobs/nightly/worker-runtime';
import { intFlag } from '../flags';
import type { CliContext } from '../main';

export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('join running nightlies of this PAYDECIDE_PREFIX from this process or machine (runs until SIGINT/SIGTERM)')
    .option('--concurrency <k>', 'chunk jobs at once, one worker thread each', intFlag('--concurrency', 1, 64), 2)
    .action(async (o: { concurrency: number }) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-worker' });
      const rt = await startWorkers(cfg, redis, log, { concurrency: o.concurrency });
      log.info({ prefix: cfg.prefix, concurrency: o.concurrency }, 'worker ready');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      log.info('worker stopping: finishing the jobs in hand');
      await rt.close();
      redis.disconnect();
    });
}
