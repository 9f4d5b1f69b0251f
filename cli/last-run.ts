/**
 * Defaults taken from the last finished nightly (Redis `<prefix>:lastrun`): its world and as-of
 * date, so `report eval` and `dataset build` work right after a nightly without flags.
 */
import type { Config } from '../core/config';
import { ErrorCodes, PaydecideError } from '../core/errors';
import { closeRedis, connectRedis } from '../core/redis';

export interface LastRunRef {
  data: string;
  asOf: string;
}

export async function lastRunRef(cfg: Config, need: string): Promise<LastRunRef> {
  const key = `${cfg.prefix}:lastrun`;
  const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-cli' });
  let raw: string | null;
  try {
    raw = await redis.get(key);
  } finally {
    await closeRedis(redis);
  }
  let parsed: { data?: unknown; as_of?: unknown } | null = null;
  try {
    parsed = raw === null ? null : (JSON.parse(raw) as { data?: unknown; as_of?: unknown });
  } catch {
    parsed = null;
  }
  if (!parsed || typeof parsed.data !== 'string' || typeof parsed.as_of !== 'string') {
    throw new PaydecideError(ErrorCodes.NO_RUN, `no finished nightly under prefix ${cfg.prefix} (Redis key ${key}) to take ${need} from; give them as flags or run \`paydecide nightly\` first`);
  }
  return { data: parsed.data, asOf: parsed.as_of };
}
