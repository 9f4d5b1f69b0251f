/**
 * The cost report: the model's arithmetic against hand-computed numbers, clear errors for a missing
 * or malformed lastrun, and renderings that list every stage (HTML self-contained and escaped).
 * No Redis: the command's I/O is a thin wrapper over these pure functions.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerReport } from '../../cli/commands/report';
import type { CliContext } from '../../cli/main';
import type { Prices } from '../../core/config';
import { ErrorCodes } from '../../core/errors';
import { computeCostReport, parseLastRun, parseOnlineResult, type LastRun } from '../../jobs/report/cost-report';
import { escapeHtml, formatUsd, renderCostHtml, renderCostText } from '../../jobs/report/cost-report-render';

// Round prices so every expected number below can be checked by hand.
const PRICES: Prices = { vcpuHour: 0.036, redisGbMonth: 15, s3GbMonth: 0.03, s3Put1k: 0.005, s3Get1k: 0.0004 };
const KEEP = 2;
const MIB = 1024 * 1024;

function lastRun(over: Partial<LastRun> = {}): LastRun {
  return {
    version: 'v20260301-abc',
    as_of: '2026-03-01',
    users: 2_000_000,
    total_s: 1500,
    cpu_s: 6000,
    redisBytes: 1e9,
    finished_at: '2026-03-02T02:10:00.000Z',
    // Fields the report does not use must pass through, not fail validation.
    data: '/data/world',
    checks: { coverage: 1 },
    stages: [
      { name: 'prepare', wall_s: 2, cpu_s: 0, peak_rss_bytes: 100 * MIB },
      { name: 'features', wall_s: 1000, cpu_s: 3600, peak_rss_bytes: 2048 * MIB },
      { name: 'scoring', wall_s: 300, cpu_s: 1800, peak_rss_bytes: 512 * MIB },
      { name: 'publish', wall_s: 150, cpu_s: 360, peak_rss_bytes: 256 * MIB, redis_bytes: 1e9 },
      { name: 'audiences', wall_s: 40, cpu_s: 0, peak_rss_bytes: 64 * MIB, store_bytes: 2e9, store_write_requests: 4000, store_read_requests: 10_000 },
      // A stage name the report has never heard of is kept and costed like any other.
      { name: 'warmup', wall_s: 8, cpu_s: 72, peak_rss_bytes: 32 * MIB, extra: 'ignored' },
    ],
    ...over,
  } as LastRun;
}

/** Money to 1e-9 USD: exact up to floating-point rounding. */
const close = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 9);

describe('computeCostReport', () => {
  const r = computeCostReport(lastRun(), PRICES, KEEP);
  const stage = (n: string) => r.stages.find((s) => s.name === n)!;

  it('costs compute as CPU-hours × the vCPU price', () => {
    // 3600 CPU-s = 1 vCPU-hour = $0.036, over 2 M users = $0.018 per million.
    close(stage('features').compute_usd, 0.036);
    close(stage('features').usd, 0.036);
    close(stage('features').usd_per_million, 0.018);
    // 1800 CPU-s = 0.5 h = $0.018 → $0.009 per million.
    close(stage('scoring').usd_per_million, 0.009);
    // 72 CPU-s = 0.02 h = $0.00072 → $0.00036 per million.
    close(stage('warmup').usd, 0.00072);
    close(stage('warmup').usd_per_million, 0.00036);
    close(stage('prepare').usd, 0);
  });

  it('costs Redis as one day of keepVersions copies', () => {
    // 1 GB × 2 versions × $15 / 30 days = $1.00; plus 360 CPU-s = 0.1 h = $0.0036.
    const p = stage('publish');
    close(p.redis_usd, 1);
    close(p.compute_usd, 0.0036);
    close(p.store_usd, 0);
    close(p.usd, 1.0036);
    close(p.usd_per_million, 0.5018);
    expect(p.redis_bytes).toBe(1e9);
  });

  it('costs the object store as requests plus a month of the bytes', () => {
    // 4 k writes × $0.005 = $0.02; 10 k reads × $0.0004 = $0.004; 2 GB × $0.03 = $0.06 → $0.084.
    const a = stage('audiences');
    close(a.store_usd, 0.084);
    close(a.compute_usd, 0);
    close(a.usd_per_million, 0.042);
    expect(a.store_bytes).toBe(2e9);
  });

  it('adds stages up to the cost per million, the 120 M/day projection and the budget verdict', () => {
    // $0 + 0.036 + 0.018 + 1.0036 + 0.084 + 0.00072 = $1.14232 for 2 M users.
    close(r.usd, 1.14232);
    close(r.cost_per_million_usd, 0.57116);
    close(r.projection_120m_usd_per_day, 68.5392);
    expect(r.budget_per_million_usd).toBe(25);
    expect(r.within_budget).toBe(true);
    // publish: 1.0036 / 1.14232; features: 0.036 / 1.14232.
    expect(stage('publish').share).toBeCloseTo(0.87856, 5);
    expect(stage('features').share).toBeCloseTo(0.031515, 6);
    expect(stage('prepare').share).toBe(0);
    close(r.stages.reduce((a, s) => a + s.share, 0), 1);
  });

  it('keeps every stage in order, with its resources, and the run identity and prices', () => {
    expect(r.stages.map((s) => s.name)).toEqual(['prepare', 'features', 'scoring', 'publish', 'audiences', 'warmup']);
    expect(stage('features')).toMatchObject({ wall_s: 1000, cpu_s: 3600, peak_rss_bytes: 2048 * MIB, redis_bytes: 0, store_bytes: 0 });
    expect(r).toMatchObject({ version: 'v20260301-abc', as_of: '2026-03-01', users: 2_000_000, keep_versions: 2, prices: PRICES, online: null, notes: [] });
    for (const k of ['cost_per_million_usd', 'projection_120m_usd_per_day', 'budget_per_million_usd', 'within_budget', 'users', 'version', 'as_of', 'prices', 'online', 'stages']) {
      expect(JSON.parse(JSON.stringify(r))).toHaveProperty(k);
    }
  });

  it('flags a run over the batch budget', () => {
    // 1,000,000 CPU-s ≈ 277.8 h × $0.036 = $10 for 1,000 users = $10,000 per million.
    const over = computeCostReport(lastRun({ users: 1000, stages: [{ name: 'scoring', wall_s: 1, cpu_s: 1_000_000, peak_rss_bytes: 0 }] }), PRICES, KEEP);
    close(over.cost_per_million_usd, 10_000);
    close(over.projection_120m_usd_per_day, 1_200_000);
    expect(over.within_budget).toBe(false);
  });

  it('scales Redis cost with keepVersions', () => {
    // 1 GB × 3 versions × $15 / 30 = $1.50.
    close(computeCostReport(lastRun(), PRICES, 3).stages.find((s) => s.name === 'publish')!.redis_usd, 1.5);
  });

  it('notes Redis bytes the run holds but no stage reports', () => {
    const stages = lastRun().stages.map(({ redis_bytes: _, ...s }) => s);
    const n = computeCostReport(lastRun({ stages }), PRICES, KEEP);
    expect(n.notes.join(' ')).toMatch(/no stage reports redis_bytes/);
  });

  it('costs online decisions from the benchmark result, within and over budget', () => {
    // 90 CPU-s / 1 M decisions / 3600 × $0.036 = $9e-10 per decision.
    const ok = computeCostReport(lastRun(), PRICES, KEEP, { decisions: 1_000_000, cpu_s: 90, wall_s: 60 });
    expect(ok.online).toMatchObject({ budget_usd: 0.001, within_budget: true, redis_bytes_per_user: null, decisions: 1_000_000 });
    expect(ok.online!.usd_per_decision).toBeCloseTo(9e-10, 15);
    // 3600 CPU-s / 10 decisions / 3600 × $0.036 = $0.0036 per decision.
    const bad = computeCostReport(lastRun(), PRICES, KEEP, { decisions: 10, cpu_s: 3600, wall_s: 3600, redis_bytes_per_user: 120 });
    close(bad.online!.usd_per_decision, 0.0036);
    expect(bad.online).toMatchObject({ within_budget: false, redis_bytes_per_user: 120 });
  });
});

describe('parsing the inputs', () => {
  const SRC = 'Redis key pd:lastrun';

  it('a missing lastrun is PD_ERR_NO_RUN', () => {
    expect(() => parseLastRun(null, SRC)).toThrow(expect.objectContaining({ code: ErrorCodes.NO_RUN, message: expect.stringContaining('pd:lastrun') }));
    expect(ErrorCodes.NO_RUN).toBe('PD_ERR_NO_RUN');
  });

  it('a malformed lastrun names the field', () => {
    const run = lastRun() as unknown as { stages: Record<string, unknown>[] };
    delete run.stages[1]!.cpu_s;
    expect(() => parseLastRun(JSON.stringify(run), SRC)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INPUT_SCHEMA, message: expect.stringContaining('field stages.1.cpu_s') }),
    );
    expect(() => parseLastRun(JSON.stringify({ ...lastRun(), users: 'lots' }), SRC)).toThrow(expect.objectContaining({ message: expect.stringContaining('field users') }));
    expect(() => parseLastRun(JSON.stringify({ ...lastRun(), users: 0 }), SRC)).toThrow(expect.objectContaining({ message: expect.stringContaining('field users') }));
    expect(() => parseLastRun('{not json', SRC)).toThrow(expect.objectContaining({ code: ErrorCodes.INPUT_SCHEMA, message: expect.stringContaining('not valid JSON') }));
  });

  it('a valid lastrun parses with extra fields kept', () => {
    const run = parseLastRun(JSON.stringify(lastRun()), SRC);
    expect(run.stages).toHaveLength(6);
    expect((run as Record<string, unknown>).data).toBe('/data/world');
  });

  it('a malformed online result names the file and the field', () => {
    expect(() => parseOnlineResult(JSON.stringify({ decisions: 0, cpu_s: 1, wall_s: 1 }), '/h/bench/online-result.json')).toThrow(
      expect.objectContaining({ code: ErrorCodes.INPUT_SCHEMA, message: expect.stringMatching(/online-result\.json: field decisions/) }),
    );
    expect(parseOnlineResult('{"decisions":5,"cpu_s":1,"wall_s":2,"p99_ms":3}', 'f')).toMatchObject({ decisions: 5, cpu_s: 1, wall_s: 2 });
  });
});

describe('renderCostText', () => {
  const text = renderCostText(computeCostReport(lastRun(), PRICES, KEEP));

  it('lists every stage in the table and the total', () => {
    const lines = text.split('\n');
    for (const name of ['prepare', 'features', 'scoring', 'publish', 'audiences', 'warmup', 'total']) {
      expect(lines.some((l) => l.startsWith(`${name} `))).toBe(true);
    }
    expect(lines[1]).toMatch(/^stage\s+wall s\s+CPU s\s+peak RSS MiB\s+Redis MB\s+store MB\s+\$\/M\s+share$/);
    // Aligned: header, six stages and total have the same width.
    const table = lines.slice(1, 9);
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
    expect(lines.find((l) => l.startsWith('publish'))).toMatch(/ 256\.0 /);
    expect(lines.find((l) => l.startsWith('publish'))).toMatch(/\$0\.502\s+87\.9%$/);
  });

  it('states the total, the projection, the budget verdict and the unmeasured online cost', () => {
    expect(text).toContain('cost per million batch scores: $0.571, budget $25.00: within budget');
    expect(text).toContain('projection at 120 M batch scores/day: $68.54/day');
    expect(text).toMatch(/online: not measured.*make bench-online/);
  });

  it('states the measured online cost', () => {
    const t = renderCostText(computeCostReport(lastRun(), PRICES, KEEP, { decisions: 10, cpu_s: 3600, wall_s: 3600 }));
    expect(t).toMatch(/online: \$0\.0036 per decision .*budget \$0\.001: OVER budget/);
  });
});

describe('renderCostHtml', () => {
  const names = ['prepare', 'features', 'scoring', 'publish', 'audiences', 'warmup'];
  const html = renderCostHtml(computeCostReport(lastRun(), PRICES, KEEP));

  it('is one self-contained file: nothing fetched from anywhere', () => {
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<style>');
  });

  it('shows every stage in every chart', () => {
    const charts = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(charts.length).toBeGreaterThanOrEqual(2);
    for (const svg of charts) for (const n of names) expect(svg).toContain(`>${n}</text>`);
  });

  it('has the headline against the budget, the price table and the online line', () => {
    expect(html).toContain('$0.571');
    expect(html).toContain('budget $25.00: within budget');
    expect(html).toContain('$68.54/day');
    expect(html).toContain('vCPU-hour');
    expect(html).toContain('$0.036');
    expect(html).toMatch(/not measured[\s\S]*make bench-online/);
  });

  it('escapes text taken from the run', () => {
    const evil = computeCostReport(lastRun({ version: 'v1"><b>', stages: [{ name: '<script>alert(1)</script>', wall_s: 1, cpu_s: 1, peak_rss_bytes: 1 }] }), PRICES, KEEP);
    const h = renderCostHtml(evil);
    expect(h).not.toContain('<script');
    expect(h).not.toContain('"><b>');
    expect(h).toContain(escapeHtml('<script>alert(1)</script>'));
  });
});

describe('formatUsd', () => {
  it('prints dollars readably at any scale', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(25)).toBe('$25.00');
    expect(formatUsd(0.57116)).toBe('$0.571');
    expect(formatUsd(0.001)).toBe('$0.001');
    expect(formatUsd(9e-10)).toBe('$9.00e-10');
  });
});

describe('paydecide report cost', () => {
  it('registers report cost with --html <file> and --json', () => {
    const program = new Command();
    registerReport(program, {} as CliContext);
    const cost = program.commands.find((c) => c.name() === 'report')!.commands.find((c) => c.name() === 'cost')!;
    expect(cost.options.map((o) => o.flags)).toEqual(['--html <file>', '--json']);
  });
});
