import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { listAudiences, pullAudience, readAudienceManifest } from '../../audiences/audience-catalog';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { openObjectStore } from '../../core/open-object-store';
import type { ObjectStore } from '../../core/object-store';
import { closeRedis, connectRedis } from '../../core/redis';
import { ScoreStore } from '../../core/score-store';
import { parquetToCsv } from '../../jobs/audiences/parquet-to-csv';
import { publishAudiences } from '../../jobs/audiences/publish-audiences';
import { resolveWorldDir } from '../../jobs/world';
import { dateFlag } from '../flags';
import type { CliContext } from '../main';

const STORE_HELP = 'audience store: a directory or s3://bucket/prefix (default PAYDECIDE_AUDIENCES, else $PAYDECIDE_HOME/audiences)';

function formatFlag(v: string): 'parquet' | 'csv' {
  if (v !== 'parquet' && v !== 'csv') throw new InvalidArgumentError(`--format must be parquet or csv, got '${v}'`);
  return v;
}

export function registerAudiences(program: Command, ctx: CliContext): void {
  const aud = program.command('audiences').description('CRM audiences published by the nightly: list, describe, pull (verified), build');
  const withStore = async <T>(url: string | undefined, f: (s: ObjectStore) => Promise<T>): Promise<T> => {
    const cfg = ctx.config();
    const store = openObjectStore(url ?? cfg.audiences, cfg.s3);
    try {
      return await f(store);
    } finally {
      store.close();
    }
  };

  aud
    .command('list')
    .description('published audiences, newest date of each (--all: every date)')
    .option('--store <url>', STORE_HELP)
    .option('--all', 'every published date, not only the newest')
    .option('--json', 'print a JSON array of {audience, date, rows, rows_sent, campaign_id, action, channel, parts, bytes}')
    .action(async (o: { store?: string; all?: boolean; json?: boolean }) => {
      const rows = await withStore(o.store, (s) => listAudiences(s, !o.all));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no audiences published yet (the nightly publishes them after scoring)\n');
        return;
      }
      const w = Math.max(8, ...rows.map((r) => r.audience.length));
      const lines = [`${'audience'.padEnd(w)}  date        campaign  action             channel  rows      sent`];
      for (const r of rows) lines.push(`${r.audience.padEnd(w)}  ${r.date}  ${String(r.campaign_id).padStart(8)}  ${r.action.padEnd(17)}  ${r.channel.padEnd(7)}  ${String(r.rows).padStart(8)}  ${String(r.rows_sent).padStart(8)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  aud
    .command('describe <name>')
    .description("one audience's manifest: rows, parts and checksums, versions, budget, exclusions by reason code")
    .option('--store <url>', STORE_HELP)
    .option('--date <YYYY-MM-DD>', 'that date (default: the newest)', dateFlag('--date'))
    .option('--json', 'print the manifest as JSON')
    .action(async (name: string, o: { store?: string; date?: string; json?: boolean }) => {
      const m = await withStore(o.store, (s) => readAudienceManifest(s, name, o.date));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(m)}\n`);
        return;
      }
      const lines = [
        `${m.audience} of ${m.date}: campaign ${m.campaign_id} (${m.campaign_name}), ${m.action} by ${m.channel}`,
        `rows ${m.rows}: ${m.rows_sent} to send, held out ${m.rows_holdout.global} (global) + ${m.rows_holdout.campaign} (campaign)`,
        `delta vs ${m.delta.previous_date ?? '(none)'}: +${m.delta.added} −${m.delta.removed}`,
        `budget: ${m.budget.spent_usd.toFixed(2)} of ${m.budget.available_usd.toFixed(2)} USD available tonight (daily ${m.budget.daily_usd}); expected value ${m.expected_value_usd.toFixed(2)} USD`,
        `versions: scores ${m.versions.scores}, model ${m.versions.model}, features ${m.versions.feature_set}, policy ${m.versions.policy}`,
        `parts: ${m.parts.map((p) => `${p.file} (${p.rows} rows, ${p.bytes} B, sha256 ${p.sha256.slice(0, 12)}…)`).join(', ')}`,
        'excluded by reason:',
        ...Object.entries(m.excluded).sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${k.padEnd(28)} ${v}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  aud
    .command('pull <name>')
    .description('download an audience (or its delta), verifying every part against the manifest; refuses anything that does not match')
    .requiredOption('--to <dir>', 'local folder; files land in <dir>/<name>/date=<D>/')
    .option('--store <url>', STORE_HELP)
    .option('--date <YYYY-MM-DD>', 'that date (default: the newest)', dateFlag('--date'))
    .option('--delta', 'only the users added and removed since the previous published date')
    .option('--format <parquet|csv>', 'file format of what lands in --to', formatFlag, 'parquet')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: { to: string; store?: string; date?: string; delta?: boolean; format: 'parquet' | 'csv'; json?: boolean }) => {
      const r = await withStore(o.store, (s) => pullAudience(s, name, { to: o.to, date: o.date, delta: o.delta, toCsv: o.format === 'csv' ? parquetToCsv : undefined }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ audience: name, date: r.manifest.date, dir: r.dir, files: r.files, rows: r.rows, delta: !!o.delta, format: o.format })}\n`);
        return;
      }
      process.stdout.write(`${name} of ${r.manifest.date}: ${r.files.length} file(s), ${r.rows} rows${o.delta ? ` (+${r.manifest.delta.added} −${r.manifest.delta.removed})` : ''}, every checksum verified → ${r.dir}\n`);
    });

  aud
    .command('build')
    .description("(re)build one date's audiences from that night's scored snapshot, without rescoring")
    .requiredOption('--data <dir|s3://bucket/prefix>', 'world the nightly ran on')
    .requiredOption('--date <YYYY-MM-DD>', 'the nightly as-of date (= the send day)', dateFlag('--date'))
    .option('--json', 'print the result as JSON')
    .action(async (o: { data: string; date: string; json?: boolean }) => {
      const cfg = ctx.config();
      const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-audiences' });
      let version: string;
      let model: string;
      try {
        const store = new ScoreStore(redis, cfg.prefix);
        const live = await store.liveVersion();
        const meta = live ? await store.versionMeta(live) : null;
        if (!live || !meta) throw new PaydecideError(ErrorCodes.NO_LIVE_VERSION, `no live score version under prefix ${cfg.prefix}: run \`paydecide nightly\` first`);
        if (meta.asOf !== o.date) throw new PaydecideError(ErrorCodes.UNKNOWN_DATE, `--date ${o.date}: the live scores are of ${meta.asOf}; audiences are built from the live night's scores`);
        version = live;
        model = meta.modelVersion;
      } finally {
        await closeRedis(redis);
      }
      const r = await publishAudiences(cfg, { dataDir: await resolveWorldDir(cfg, o.data, ctx.logger()), asOf: o.date, scoresVersion: version, modelVersion: model, logger: ctx.logger() });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(`${r.audiences.length} audiences of ${r.date} published to ${r.store} (run ${r.run}): ${r.audiences.reduce((a, b) => a + b.rows, 0)} rows, ${r.selectedUsers} of ${r.users} users selected; ${r.skipped.length} specs not sending today\n`);
    });
}
