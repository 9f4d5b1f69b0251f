import type { Command } from 'commander';
import { closeRedis, connectRedis } from '../../core/redis';
import { ScoreStore } from '../../core/score-store';
import type { CliContext } from '../main';

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('live score version, users, Redis bytes and the last run')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const cfg = ctx.config();
      const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-status' });
      try {
        const store = new ScoreStore(redis, cfg.prefix);
        const live = await store.liveVersion();
        const previous = await store.previousVersion();
        const meta = live ? await store.versionMeta(live) : null;
        const bytes = live ? await store.versionBytes(live) : 0;
        const lastRaw = await redis.get(`${cfg.prefix}:lastrun`);
        const last = lastRaw ? JSON.parse(lastRaw) : null;
        const users = meta ? Number(meta.stats.publishedUsers ?? meta.users) : 0;
        const out = {
          prefix: cfg.prefix,
          live_version: live,
          previous_version: previous,
          users,
          redis_bytes: bytes,
          bytes_per_user: users > 0 ? Number((bytes / users).toFixed(2)) : null,
          model_version: meta?.modelVersion ?? null,
          as_of: meta?.asOf ?? null,
          versions: (await store.listVersions()).map((v) => ({ version: v.version, status: v.status, as_of: v.asOf, model: v.modelVersion, created_at: v.createdAt })),
          last_run: last && {
            version: last.version,
            as_of: last.as_of,
            data: last.data,
            finished_at: last.finished_at,
            total_s: last.total_s,
            users: last.users,
            stages: last.stages,
            checks: last.checks,
          },
        };
        if (o.json) {
          process.stdout.write(`${JSON.stringify(out)}\n`);
          return;
        }
        const lines = [
          `prefix ${cfg.prefix}: live ${live ?? '(none)'}${previous ? `, previous ${previous} (rollback target)` : ''}`,
          live ? `  ${users} users as of ${out.as_of}, model ${out.model_version}, ~${(bytes / 1e6).toFixed(2)} MB in Redis (${out.bytes_per_user} bytes/user)` : '  nothing published yet: run `paydecide nightly`',
        ];
        if (last) {
          lines.push(`last run ${last.version} (${last.as_of}) finished ${last.finished_at} in ${Number(last.total_s).toFixed(1)} s:`);
          for (const s of last.stages as { name: string; wall_s: number }[]) lines.push(`  ${s.name.padEnd(10)} ${s.wall_s.toFixed(2).padStart(8)} s`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await closeRedis(redis);
      }
    });

  program
    .command('rollback')
    .description('make the previous score version live again')
    .action(async () => {
      const cfg = ctx.config();
      const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-rollback' });
      try {
        const r = await new ScoreStore(redis, cfg.prefix).rollback();
        process.stdout.write(`live version is now ${r.live}${r.previous ? ` (previous ${r.previous})` : ''}\n`);
      } finally {
        await closeRedis(redis);
      }
    });
}
