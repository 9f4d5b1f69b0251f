/**
 * The ceiling the online service is measured against in `make bench-online`: bare Fastify with
 * `POST /v1/decisions` that parses the same JSON body, does one HGET of the user's packed record
 * (binary, `hgetBuffer`) from one hash key, and answers a small JSON. No auth, validation, policy,
 * model or logging: whatever the service costs above this is its own.
 *
 *   npx tsx scripts/bench/ceiling-server.ts --port N --redis URL --key K [--host H]
 *   (or CEILING_PORT, PAYDECIDE_REDIS_URL, CEILING_KEY, CEILING_HOST)
 *
 * Prints `listening <port>` on stdout when ready; SIGTERM/SIGINT close it.
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';

function arg(name: string, env: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : process.env[env] ?? fallback;
  if (v === undefined) {
    process.stderr.write(`ceiling-server: --${name} (or ${env}) is required\n`);
    process.exit(2);
  }
  return v;
}

const port = Number(arg('port', 'CEILING_PORT', '0'));
const host = arg('host', 'CEILING_HOST', '127.0.0.1');
const redisUrl = arg('redis', 'PAYDECIDE_REDIS_URL', 'redis://127.0.0.1:6379');
const key = arg('key', 'CEILING_KEY');

interface DecisionBody {
  request_id?: unknown;
  user_id?: unknown;
}

const redis = new Redis(redisUrl, { connectionName: 'paydecide-bench-ceiling' });
redis.on('error', (e) => process.stderr.write(`ceiling-server: redis: ${e.message}\n`));
await redis.ping();

const app = Fastify({ logger: false });
let seq = 0;
app.post('/v1/decisions', async (req, reply) => {
  const body = req.body as DecisionBody | null;
  if (!body || typeof body.user_id !== 'string') return reply.code(400).send({ error: 'user_id must be a string' });
  const rec = await redis.hgetBuffer(key, body.user_id);
  return { decision_id: `c-${++seq}`, action: rec ? 'cashback' : 'none', source: rec ? 'model' : 'fallback:no_record', bytes: rec?.length ?? 0 };
});
app.get('/healthz', async () => ({ ok: true }));

await app.listen({ port, host });
const addr = app.server.address();
process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : port}\n`);

const stop = async () => {
  await app.close().catch(() => {});
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
