/**
 * `paydecide sink decisions|outcomes --to <dir|s3://…>`: the Redis decision / outcome stream of
 * this PAYDECIDE_PREFIX → Parquet files that `dataset build --decisions/--outcomes` reads
 * (jobs/sink). Runs until SIGINT/SIGTERM (the current batch is written and acked first), or with
 * --once until the stream as it was at start is drained.
 */
import { Argument, InvalidArgumentError, type Command } from 'commander';
import { openObjectStore } from '../../core/open-object-store';
import { closeRedis, connectRedis } from '../../core/redis';
import { runSink, SINK_STREAMS, SINK_TABLES, type SinkStats, type SinkStreamName } from '../../jobs/sink';
import { intFlag } from '../flags';
import type { CliContext } from '../main';
import { createProgress } from '../progress';

function nameFlag(name: string) {
  return (v: string): string => {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(v)) throw new InvalidArgumentError(`${name} must be 1-64 letters, digits, '_', '.', ':' or '-', got '${v}'`);
    return v;
  };
}

interface SinkFlags {
  to: string;
  once?: boolean;
  batchRows: number;
  maxWaitMs: number;
  claimIdleMs: number;
  group: string;
  consumer?: string;
  buckets: number;
  json?: boolean;
}

export function registerSink(program: Command, ctx: CliContext): void {
  program
    .command('sink')
    .description('consume the Redis decision or outcome stream into Parquet files (at least once; readers de-duplicate by decision_id / event_id)')
    .addArgument(new Argument('<stream>', 'which stream').choices(SINK_STREAMS))
    .requiredOption('--to <dir|s3://bucket/prefix>', 'where the files go: <to>/decision_log/date=D/part-<first id>-<last id>.parquet (outcomes: <to>/outcomes/…)')
    .option('--once', 'drain what the stream holds now, then exit (default: run until SIGINT/SIGTERM)')
    .option('--batch-rows <n>', 'rows per Parquet file at most', intFlag('--batch-rows', 1, 1_000_000), 50_000)
    .option('--max-wait-ms <ms>', 'write a partial batch once its oldest entry waited this long', intFlag('--max-wait-ms', 1, 3_600_000), 5000)
    .option('--claim-idle-ms <ms>', "take over another consumer's unacked entries idle this long (a dead sink's)", intFlag('--claim-idle-ms', 0, 86_400_000), 60_000)
    .option('--group <name>', 'Redis consumer group', nameFlag('--group'), 'sink')
    .option('--consumer <name>', 'consumer name in the group (default <hostname>-<pid>; a fixed name re-reads its own unacked entries at once on restart)', nameFlag('--consumer'))
    .option('--buckets <n>', "the world's bucket count, for the bucket column", intFlag('--buckets', 1, 65_535), 64)
    .option('--json', 'print the final summary as JSON')
    .action(async (stream: SinkStreamName, o: SinkFlags) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      // the URL is checked (PD_ERR_STORE_URL, exit 2) before Redis is touched
      const store = openObjectStore(o.to, cfg.s3);
      const ac = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        if (++signals > 1) {
          // a second signal: stop now; the batch in hand stays pending and is re-read on restart
          process.stderr.write(`paydecide: ${sig} again, exiting without finishing the batch\n`);
          process.exit(130);
        }
        log.info({ signal: sig }, 'sink stopping after the current batch');
        ac.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const redis = await connectRedis(cfg.redisUrl, { connectionName: `paydecide-sink-${stream}`, maxReconnectAttempts: 20 });
      const tty = process.stderr.isTTY === true && !o.json;
      let bar = tty ? createProgress(`sink ${stream}`, 'rows', log) : null;
      const stopBar = () => {
        bar?.stop();
        bar = null;
      };
      let lastLog = 0;
      const progress = (s: SinkStats) => {
        if (bar) {
          bar.update(s.rowsWritten, s.rowsWritten + (s.lag ?? 0) + (s.pending ?? 0), s.rowsWritten);
          return;
        }
        const now = performance.now();
        if (now - lastLog < 2000) return;
        lastLog = now;
        log.info(summary(s), 'sink progress');
      };
      try {
        await store.check();
        log.info({ stream: `${cfg.prefix}:${SINK_TABLES[stream].streamKey}`, to: store.url, group: o.group, once: o.once === true }, 'sink started');
        const r = await runSink({
          redis,
          prefix: cfg.prefix,
          stream,
          store,
          group: o.group,
          consumer: o.consumer,
          batchRows: o.batchRows,
          maxWaitMs: o.maxWaitMs,
          claimIdleMs: o.claimIdleMs,
          buckets: o.buckets,
          once: o.once,
          signal: ac.signal,
          logger: log,
          onProgress: progress,
          duck: { threads: Math.min(2, cfg.duckdbThreads), memory: cfg.duckdbMemory },
        });
        stopBar();
        log.info({ ...summary(r), stopped_by: r.stoppedBy }, 'sink stopped');
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ ...r, to: store.url })}\n`);
        } else {
          process.stdout.write(
            `sink ${stream}: ${r.rowsWritten} rows in ${r.files} files to ${store.url} (${r.duplicates} duplicates dropped, ${r.deadLettered} dead-lettered, ${r.trimmed} trimmed before writing); lag ${r.lag ?? '?'}, pending ${r.pending ?? '?'}\n`,
          );
        }
      } finally {
        stopBar();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        store.close();
        await closeRedis(redis);
      }
    });
}

function summary(s: SinkStats) {
  return {
    stream: s.stream,
    rows: s.rowsWritten,
    files: s.files,
    bytes: s.bytes,
    rows_per_s: s.rowsPerSecond,
    lag: s.lag,
    pending: s.pending,
    duplicates: s.duplicates,
    dead_lettered: s.deadLettered,
    trimmed: s.trimmed,
    redelivered: s.redelivered,
  };
}
