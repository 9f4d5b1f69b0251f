/**
 * The cost report for people: an aligned text table for the terminal, and one self-contained HTML
 * file (inline CSS and SVG, nothing fetched: it must open from a mail attachment or an air-gapped
 * laptop). Pure string building from a `CostReport`; no arithmetic of the cost model here.
 */
import { ONLINE_BENCH_COMMAND, ONLINE_BUDGET_USD_PER_DECISION, PROJECTION_MILLIONS_PER_DAY, type CostReport, type StageCost } from './cost-report';

const MIB = 1024 * 1024;

/**
 * Dollars readable at any scale: batch costs are cents per million and online costs fractions of
 * a micro-dollar, so a fixed number of decimals would print either noise or zeros.
 */
export function formatUsd(x: number): string {
  if (x === 0) return '$0';
  const a = Math.abs(x);
  if (a >= 1) return `$${x.toFixed(2)}`;
  if (a < 1e-6) return `$${x.toExponential(2)}`;
  // Three significant digits below a dollar, without trailing zeros ($0.001, not $0.00100).
  return `$${Number(x.toPrecision(3))}`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function num(x: number, digits: number): string {
  return x.toFixed(digits);
}

function budgetVerdict(r: CostReport): string {
  const used = r.cost_per_million_usd / r.budget_per_million_usd;
  return r.within_budget ? `within budget (${pct(used)} of it)` : `OVER budget (${used.toFixed(1)}× it)`;
}

function onlineLine(r: CostReport): string {
  const o = r.online;
  if (!o) return `online: not measured; run \`${ONLINE_BENCH_COMMAND}\` to measure the cost per online decision (budget ${formatUsd(ONLINE_BUDGET_USD_PER_DECISION)})`;
  return `online: ${formatUsd(o.usd_per_decision)} per decision (${o.decisions} decisions, ${num(o.cpu_s, 2)} CPU-s), budget ${formatUsd(o.budget_usd)}: ${o.within_budget ? 'within budget' : 'OVER budget'}`;
}

function pricesLine(r: CostReport): string {
  const p = r.prices;
  return `prices: ${formatUsd(p.vcpuHour)}/vCPU-hour, ${formatUsd(p.redisGbMonth)}/GB-month Redis (×${r.keep_versions} versions, one day), ${formatUsd(p.s3GbMonth)}/GB-month store (one month), ${formatUsd(p.s3Put1k)}/1k writes, ${formatUsd(p.s3Get1k)}/1k reads`;
}

interface Row {
  stage: string;
  wall: string;
  cpu: string;
  rss: string;
  redis: string;
  store: string;
  perM: string;
  share: string;
}

function stageRow(s: StageCost): Row {
  return {
    stage: s.name,
    wall: num(s.wall_s, 2),
    cpu: num(s.cpu_s, 2),
    rss: num(s.peak_rss_bytes / MIB, 1),
    redis: num(s.redis_bytes / 1e6, 2),
    store: num(s.store_bytes / 1e6, 2),
    perM: formatUsd(s.usd_per_million),
    share: pct(s.share),
  };
}

/** Column totals of the stage rows; peak RSS is the largest stage's (peaks do not add). */
function totalRow(r: CostReport): Row {
  const sum = (f: (s: StageCost) => number) => r.stages.reduce((a, s) => a + f(s), 0);
  return {
    stage: 'total',
    wall: num(sum((s) => s.wall_s), 2),
    cpu: num(sum((s) => s.cpu_s), 2),
    rss: num(Math.max(0, ...r.stages.map((s) => s.peak_rss_bytes)) / MIB, 1),
    redis: num(sum((s) => s.redis_bytes) / 1e6, 2),
    store: num(sum((s) => s.store_bytes) / 1e6, 2),
    perM: formatUsd(r.cost_per_million_usd),
    share: r.usd > 0 ? pct(1) : pct(0),
  };
}

const HEAD: Row = { stage: 'stage', wall: 'wall s', cpu: 'CPU s', rss: 'peak RSS MiB', redis: 'Redis MB', store: 'store MB', perM: '$/M', share: 'share' };
const COLS = Object.keys(HEAD) as (keyof Row)[];

/** Plain aligned table plus total, projection and budget lines, for the terminal. */
export function renderCostText(r: CostReport): string {
  const rows = [HEAD, ...r.stages.map(stageRow), totalRow(r)];
  const width = Object.fromEntries(COLS.map((c) => [c, Math.max(...rows.map((x) => x[c].length))])) as Record<keyof Row, number>;
  const line = (x: Row) => COLS.map((c) => (c === 'stage' ? x[c].padEnd(width[c]) : x[c].padStart(width[c]))).join('  ');
  const out = [
    `cost of nightly run ${r.version} (as of ${r.as_of}, ${r.users} users, ${num(r.total_s, 1)} s wall, ${num(r.cpu_s, 1)} CPU-s, finished ${r.finished_at})`,
    line(rows[0]),
    ...rows.slice(1, -1).map(line),
    line(rows[rows.length - 1]),
    `cost per million batch scores: ${formatUsd(r.cost_per_million_usd)}, budget ${formatUsd(r.budget_per_million_usd)}: ${budgetVerdict(r)}`,
    `projection at ${PROJECTION_MILLIONS_PER_DAY} M batch scores/day: ${formatUsd(r.projection_120m_usd_per_day)}/day`,
    onlineLine(r),
    pricesLine(r),
    ...r.notes.map((n) => `note: ${n}`),
  ];
  return `${out.join('\n')}\n`;
}

/** Text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const COLORS = { compute: '#4e79a7', redis: '#e15759', store: '#59a14f', cpu: '#4e79a7', wall: '#b6b0a8' };
const CHART_W = 760;
const LABEL_W = 130;
const VALUE_W = 120;
const BAR_W = CHART_W - LABEL_W - VALUE_W;

function legend(items: [string, string][], y: number): string {
  return items
    .map(([label, color], i) => `<rect x="${LABEL_W + i * 130}" y="${y}" width="12" height="12" fill="${color}"/><text x="${LABEL_W + i * 130 + 18}" y="${y + 11}" class="lg">${escapeHtml(label)}</text>`)
    .join('');
}

/** Horizontal stacked bars of $/M per stage, split into compute, Redis and store. */
function perMillionChart(r: CostReport): string {
  const rowH = 30;
  const top = 28;
  const max = Math.max(0, ...r.stages.map((s) => s.usd_per_million));
  const scale = (usd: number) => (max > 0 ? (usd / max) * BAR_W : 0);
  const perM = (usd: number) => (usd / r.users) * 1e6;
  const bars = r.stages
    .map((s, i) => {
      const y = top + i * rowH;
      let x = LABEL_W;
      const parts = ([['compute', s.compute_usd], ['redis', s.redis_usd], ['store', s.store_usd]] as const).map(([k, usd]) => {
        // A cost too small for the scale still gets a sliver, so no stage's bar reads as absent.
        const w = usd > 0 ? Math.max(1, scale(perM(usd))) : 0;
        const rect = w > 0 ? `<rect x="${x.toFixed(2)}" y="${y + 4}" width="${w.toFixed(2)}" height="${rowH - 10}" fill="${COLORS[k]}"><title>${escapeHtml(`${s.name} ${k}: ${formatUsd(perM(usd))} per million`)}</title></rect>` : '';
        x += w;
        return rect;
      });
      const track = `<rect x="${LABEL_W}" y="${y + 4}" width="${BAR_W}" height="${rowH - 10}" class="track"/>`;
      return `<g class="stage"><text x="${LABEL_W - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${escapeHtml(s.name)}</text>${track}${parts.join('')}<text x="${(x + 6).toFixed(2)}" y="${y + rowH / 2 + 4}" class="v">${escapeHtml(`${formatUsd(s.usd_per_million)} (${pct(s.share)})`)}</text></g>`;
    })
    .join('');
  const h = top + r.stages.length * rowH + 8;
  return `<svg class="chart" viewBox="0 0 ${CHART_W} ${h}" width="${CHART_W}" height="${h}" role="img" aria-label="USD per million batch scores by stage"><title>USD per million batch scores by stage</title>${legend([['compute', COLORS.compute], ['Redis', COLORS.redis], ['object store', COLORS.store]], 6)}${bars}</svg>`;
}

/** Paired horizontal bars of CPU seconds and wall seconds per stage, on one scale. */
function cpuWallChart(r: CostReport): string {
  const rowH = 40;
  const top = 28;
  const max = Math.max(0, ...r.stages.flatMap((s) => [s.cpu_s, s.wall_s]));
  const scale = (v: number) => (max > 0 ? (v / max) * BAR_W : 0);
  const bars = r.stages
    .map((s, i) => {
      const y = top + i * rowH;
      const bar = (v: number, dy: number, color: string, what: string) => {
        const w = scale(v);
        return `<rect x="${LABEL_W}" y="${y + dy}" width="${BAR_W}" height="14" class="track"/><rect x="${LABEL_W}" y="${y + dy}" width="${w.toFixed(2)}" height="14" fill="${color}"><title>${escapeHtml(`${s.name} ${what}: ${num(v, 2)} s`)}</title></rect><text x="${(LABEL_W + w + 6).toFixed(2)}" y="${y + dy + 11}" class="v">${escapeHtml(`${num(v, 2)} s ${what}`)}</text>`;
      };
      return `<g class="stage"><text x="${LABEL_W - 8}" y="${y + 20}" text-anchor="end">${escapeHtml(s.name)}</text>${bar(s.cpu_s, 4, COLORS.cpu, 'CPU')}${bar(s.wall_s, 20, COLORS.wall, 'wall')}</g>`;
    })
    .join('');
  const h = top + r.stages.length * rowH + 8;
  return `<svg class="chart" viewBox="0 0 ${CHART_W} ${h}" width="${CHART_W}" height="${h}" role="img" aria-label="CPU seconds and wall seconds by stage"><title>CPU seconds and wall seconds by stage</title>${legend([['CPU s', COLORS.cpu], ['wall s', COLORS.wall]], 6)}${bars}</svg>`;
}

function table(head: string[], rows: string[][], numericFrom = 1): string {
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="n"' : ''}>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((row) => `<tr>${row.map((c, i) => `<td${i >= numericFrom ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function kpi(label: string, value: string, sub: string, state: 'ok' | 'over' | 'na'): string {
  return `<div class="kpi ${state}"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="sub">${escapeHtml(sub)}</div></div>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:900px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666;margin:0 0 16px}
.kpis{display:flex;gap:12px;flex-wrap:wrap}
.kpi{flex:1 1 220px;border:1px solid #ddd;border-left:6px solid #999;border-radius:6px;padding:10px 14px}
.kpi.ok{border-left-color:#59a14f}.kpi.over{border-left-color:#e15759}.kpi.na{border-left-color:#bbb}
.kpi .label{color:#555;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.kpi .value{font-size:24px;font-weight:600;margin:2px 0}
.kpi .sub{color:#555;font-size:13px}
svg.chart{max-width:100%;height:auto;font-size:12px}
svg.chart text{fill:#222}svg.chart rect.track{fill:#f3f3f3}svg.chart text.v,svg.chart text.lg{fill:#555}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left}
th.n,td.n{text-align:right}tbody tr:last-child td{border-bottom:none}
tr.total td{font-weight:600;border-top:2px solid #ccc}
.note{color:#8a5a00}
`;

/** One self-contained HTML page: headline against the budget, charts per stage, prices, online. */
export function renderCostHtml(r: CostReport): string {
  const used = r.cost_per_million_usd / r.budget_per_million_usd;
  const o = r.online;
  const stageTable = table(
    ['stage', 'wall s', 'CPU s', 'peak RSS MiB', 'Redis MB', 'store MB', 'compute $', 'Redis $', 'store $', '$/M', 'share'],
    [...r.stages, null].map((s) => {
      if (s === null) {
        const t = totalRow(r);
        const sum = (f: (x: StageCost) => number) => r.stages.reduce((a, x) => a + f(x), 0);
        return [t.stage, t.wall, t.cpu, t.rss, t.redis, t.store, formatUsd(sum((x) => x.compute_usd)), formatUsd(sum((x) => x.redis_usd)), formatUsd(sum((x) => x.store_usd)), t.perM, t.share];
      }
      const x = stageRow(s);
      return [x.stage, x.wall, x.cpu, x.rss, x.redis, x.store, formatUsd(s.compute_usd), formatUsd(s.redis_usd), formatUsd(s.store_usd), x.perM, x.share];
    }),
  ).replace(/<tr>(<td>total<\/td>)/, '<tr class="total">$1');
  const p = r.prices;
  const priceTable = table(
    ['assumption', 'value', 'used as'],
    [
      ['vCPU-hour', formatUsd(p.vcpuHour), 'stage CPU-s / 3600 × price'],
      ['Redis memory, GB-month', formatUsd(p.redisGbMonth), `bytes × ${r.keep_versions} versions (live + rollback) / 1e9 × price / 30 (one day)`],
      ['object store, GB-month', formatUsd(p.s3GbMonth), 'bytes written / 1e9 × price (one month of retention)'],
      ['object store, 1,000 writes', formatUsd(p.s3Put1k), 'PUT, multipart part, LIST requests / 1000 × price'],
      ['object store, 1,000 reads', formatUsd(p.s3Get1k), 'GET, HEAD requests / 1000 × price'],
      ['budget, batch', `${formatUsd(r.budget_per_million_usd)} per million scores`, 'product brief'],
      ['budget, online', `${formatUsd(o?.budget_usd ?? ONLINE_BUDGET_USD_PER_DECISION)} per decision`, 'product brief'],
    ],
    99,
  );
  const onlineHtml = o
    ? `<p>${escapeHtml(`${formatUsd(o.usd_per_decision)} per online decision (${o.decisions} decisions, ${num(o.cpu_s, 2)} CPU-s, ${num(o.wall_s, 2)} s wall${o.redis_bytes_per_user !== null ? `, ${num(o.redis_bytes_per_user, 1)} Redis bytes/user` : ''}) against a budget of ${formatUsd(o.budget_usd)}: ${o.within_budget ? 'within budget' : 'OVER budget'}.`)}</p>`
    : `<p>${escapeHtml('Online decisions: not measured yet.')} Run <code>${escapeHtml(ONLINE_BENCH_COMMAND)}</code> ${escapeHtml('to measure the cost per online decision.')}</p>`;
  const notes = r.notes.map((n) => `<p class="note">${escapeHtml(`Note: ${n}`)}</p>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`paydecide cost: ${r.version}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(`Cost of nightly run ${r.version}`)}</h1>
<p class="meta">${escapeHtml(`as of ${r.as_of} · ${r.users} users · ${num(r.total_s, 1)} s wall · ${num(r.cpu_s, 1)} CPU-s · finished ${r.finished_at}`)}</p>
<div class="kpis">
${kpi('batch cost per million scores', formatUsd(r.cost_per_million_usd), `budget ${formatUsd(r.budget_per_million_usd)}: ${r.within_budget ? `within budget, ${pct(used)} of it` : `OVER budget, ${used.toFixed(1)}× it`}`, r.within_budget ? 'ok' : 'over')}
${kpi(`projection at ${PROJECTION_MILLIONS_PER_DAY} M scores/day`, `${formatUsd(r.projection_120m_usd_per_day)}/day`, `budget ${formatUsd(r.budget_per_million_usd * PROJECTION_MILLIONS_PER_DAY)}/day`, r.within_budget ? 'ok' : 'over')}
${o ? kpi('online cost per decision', formatUsd(o.usd_per_decision), `budget ${formatUsd(o.budget_usd)}: ${o.within_budget ? 'within budget' : 'OVER budget'}`, o.within_budget ? 'ok' : 'over') : kpi('online cost per decision', 'not measured', `run ${ONLINE_BENCH_COMMAND}`, 'na')}
</div>
</header>
<section>
<h2>$ per million batch scores, by stage</h2>
${perMillionChart(r)}
</section>
<section>
<h2>CPU seconds and wall seconds, by stage</h2>
${cpuWallChart(r)}
</section>
<section>
<h2>Stages</h2>
${stageTable}
${notes}
</section>
<section>
<h2>Price assumptions</h2>
${priceTable}
</section>
<section>
<h2>Online</h2>
${onlineHtml}
</section>
</body>
</html>
`;
}
