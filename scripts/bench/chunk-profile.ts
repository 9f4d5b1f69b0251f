/**
 * Profiles one chunk of an incremental night (and optionally a full one) stage by stage, on a
 * world that `make bench-batch` left (its state files). Dev tool, not a test or a benchmark target.
 *   npx tsx scripts/bench/chunk-profile.ts [world] [asOf] [lo] [hi] [reps]
 * FULL=1 rebuilds from 90 days instead; WRITE_STATE=1 stores the state for the next day.
 */
import path from 'node:path';
import { addDays } from '../../core/dates';
import { closeDuckDB, openDuckDB } from '../../jobs/duckdb';
import { computeSnapshot } from '../../jobs/features/feature-snapshot';
import { readStateFile, stateFile, writeStateFile } from '../../jobs/features/payment-state-file';
import { writeSnapshotParquet } from '../../jobs/features/snapshot-parquet';
import { readWorldManifest, sha256File, worldFiles } from '../../jobs/world';
import { slotCount } from '../../core/slot';

const WORLD = path.resolve(process.argv[2] ?? 'bench-out/world-1000000');
const AS_OF = process.argv[3] ?? '2026-07-01';
const LO = Number(process.argv[4] ?? 0);
const HI = Number(process.argv[5] ?? 8);
const REPS = Number(process.argv[6] ?? 3);
const world = readWorldManifest(WORLD);
const buckets = Array.from({ length: HI - LO }, (_, i) => LO + i);
const files = {
  users: worldFiles(WORLD, world, 'users', buckets),
  payments: worldFiles(WORLD, world, 'payments', buckets),
  decisions: worldFiles(WORLD, world, 'decision_log', buckets),
  outcomes: worldFiles(WORLD, world, 'outcomes', buckets),
};
const d = await openDuckDB({ threads: 1, memory: '4GB' });
for (let r = 0; r < REPS; r++) {
  const ft: Record<string, number> = {};
  let t = performance.now();
  for (const f of [...files.users, ...files.payments, ...files.decisions, ...files.outcomes]) await sha256File(f);
  ft.verify = (performance.now() - t) / 1000;
  t = performance.now();
  const prev = process.env.FULL === '1' ? undefined : readStateFile(stateFile(WORLD, LO, HI, addDays(AS_OF, -1)));
  ft.state_read = (performance.now() - t) / 1000;
  const cpu0 = process.cpuUsage();
  t = performance.now();
  const m = await computeSnapshot(d.conn, files, AS_OF, { slots: slotCount(world.users, world.buckets, 64), timings: ft, table: false, prev });
  ft.snapshot_total = (performance.now() - t) / 1000;
  t = performance.now();
  writeSnapshotParquet('/tmp/chunk-profile', 'p', m);
  ft.parquet = (performance.now() - t) / 1000;
  if (process.env.WRITE_STATE === '1') writeStateFile(stateFile(WORLD, LO, HI, AS_OF), { state: m.payment, userIds: m.userIds, asOf: AS_OF });
  const cpu = process.cpuUsage(cpu0);
  console.log(`rep ${r} mode ${m.mode} n ${m.n} cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`, Object.entries(ft).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '));
}
closeDuckDB(d);
