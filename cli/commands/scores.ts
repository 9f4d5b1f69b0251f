import type { Command } from 'commander';
import { ACTIONS } from '../../core/actions';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { closeRedis, connectRedis } from '../../core/redis';
import { decodeRecord } from '../../core/score-record-codec';
import { ScoreStore } from '../../core/score-store';
import type { CliContext } from '../main';

export function registerScores(program: Command, ctx: CliContext): void {
  const scores = program.command('scores').description('read published scores');
  scores
    .command('get <user_id>')
    .description("the live record of one user, decoded")
    .option('--json', 'print as JSON')
    .action(async (userId: string, o: { json?: boolean }) => {
      const cfg = ctx.config();
      const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-scores' });
      try {
        const store = new ScoreStore(redis, cfg.prefix);
        const live = await store.liveVersion();
        if (!live) throw new PaydecideError(ErrorCodes.NO_LIVE_VERSION, `no live score version under prefix ${cfg.prefix}: run \`paydecide nightly\` first`);
        const r = await store.readRecordAt(live, userId);
        if (!r) throw new PaydecideError(ErrorCodes.USER_NOT_FOUND, `user ${JSON.stringify(userId)} has no record in live version ${live}`);
        const d = decodeRecord(r.record);
        const meta = await store.versionMeta(live);
        const actions = Object.fromEntries(ACTIONS.map((a, i) => [a, { score: Number(d.scores[i].toFixed(5)), campaign_id: d.campaigns[i], eligible: d.gates[a] }]));
        const out = { user_id: userId, version: live, as_of: meta?.asOf ?? null, model_version: meta?.modelVersion ?? null, model_tag: d.modelTag, flags: d.flags, actions };
        if (o.json) {
          process.stdout.write(`${JSON.stringify(out)}\n`);
          return;
        }
        const lines = [`user ${userId} in ${live} (as of ${out.as_of}, model ${out.model_version})`];
        for (const a of ACTIONS) {
          const x = actions[a];
          lines.push(`  ${a.padEnd(18)} score ${x.score.toFixed(4)}  campaign ${x.campaign_id === null ? '-' : String(x.campaign_id).padStart(2)}  ${x.eligible ? 'eligible' : 'gated'}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await closeRedis(redis);
      }
    });
}
