import type { Command } from 'commander';
import { redactRedisUrl, connectRedis, closeRedis } from '../../core/redis';
import { loadPolicyConfig } from '../../jobs/audiences/publish-audiences';
import { buildServer } from '../../online';
import { intFlag } from '../flags';
import type { CliContext } from '../main';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('the online decision service (POST /v1/decisions; /healthz, /readyz, /metrics, /openapi.json)')
    .option('--port <n>', 'TCP port', intFlag('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--deadline-ms <n>', 'answer deadline in ms (default PAYDECIDE_DEADLINE_MS, 25)', intFlag('--deadline-ms', 2, 1000))
    .action(async (o: { port: number; host: string; deadlineMs?: number }) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      const settings = { ...cfg.online, deadlineMs: o.deadlineMs ?? cfg.online.deadlineMs };
      const policy = loadPolicyConfig(cfg.policyFile);
      // Lazy: the service starts and answers (with fallbacks) even while Redis is down. Each
      // command is bounded by the deadline; the engine's own timers bound it too.
      const redis = await connectRedis(cfg.redisUrl, {
        lazy: true,
        autoPipelining: true,
        commandTimeoutMs: settings.deadlineMs,
        connectionName: 'paydecide-serve',
        onError: (() => {
          let last = 0;
          return (err: Error) => {
            if (Date.now() - last > 10_000) {
              last = Date.now();
              log.warn({ err: err.message, redis: redactRedisUrl(cfg.redisUrl) }, 'redis connection error (answering with fallbacks)');
            }
          };
        })(),
      });
      const svc = await buildServer({ redis, prefix: cfg.prefix, modelsDir: cfg.modelsDir, settings, policy, log });
      const addr = await svc.app.listen({ port: o.port, host: o.host });
      log.info({ addr, deadline_ms: settings.deadlineMs, prefix: cfg.prefix, redis: redactRedisUrl(cfg.redisUrl), policy: policy.version, adjuster: cfg.online.adjuster }, 'listening');
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          log.info({ signal: sig }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await svc.close();
      await closeRedis(redis);
    });
}
