/**
 * The Hillstrom check for people: an aligned text report for the terminal and one self-contained
 * HTML page (inline CSS and SVG, nothing fetched). Pure string building from a `HillstromReport`;
 * no statistics here.
 */
import { escapeHtml } from '../report/cost-report-render';
import type { ArmResult, HillstromOutcome, HillstromReport } from './hillstrom';

/** Decimals for outcome-scale figures: rates to 4 places, dollars to 3. */
function digits(outcome: HillstromOutcome): number {
  return outcome === 'spend' ? 3 : 4;
}

function signed(x: number, d: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const s = x.toFixed(d);
  return x >= 0 && !/^-/.test(s) ? `+${s}` : s;
}

function ci(est: number, lo: number, hi: number, d: number): string {
  return `${signed(est, d)} [${signed(lo, d)}, ${signed(hi, d)}]`;
}

function pct(x: number, d = 1): string {
  return `${(x * 100).toFixed(d)}%`;
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

/** An aligned table: first column left, the others right. */
function textTable(rows: string[][]): string[] {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(w[c]) : v.padStart(w[c]))).join('  ').trimEnd());
}

function ateRows(r: HillstromReport): string[][] {
  const d = digits(r.outcome);
  return [
    ['arm', 'diff in means [95% CI]', 'recovered ATE', 'difference', 'inside CI', 'calib-slice DIM', 'z (vs its noise)', 'consistent'],
    ...r.arms.map((a) => [
      a.arm,
      ci(a.dim.estimate, a.dim.ci_low, a.dim.ci_high, d),
      signed(a.recovered_ate, d),
      signed(a.difference, d),
      yesNo(a.inside_ci),
      signed(a.dim_valid.estimate, d),
      signed(a.z, 2),
      yesNo(a.consistent),
    ]),
  ];
}

function targetingRows(r: HillstromReport): string[][] {
  const d = digits(r.outcome) + 1;
  const ks = r.arms[0]?.uplift_at_k.map((u) => `top ${pct(u.k, 0)}`) ?? [];
  return [
    ['arm', 'Qini [95% CI]', 'excl. 0', 'AUUC [95% CI]', ...ks, 'test DIM', 'test rows t/c'],
    ...r.arms.map((a) => [
      a.arm,
      ci(a.qini.estimate, a.qini.ci_low, a.qini.ci_high, d),
      yesNo(a.qini.ci_low > 0 || a.qini.ci_high < 0),
      ci(a.auuc.estimate, a.auuc.ci_low, a.auuc.ci_high, d),
      ...a.uplift_at_k.map((u) => signed(u.uplift, d - 1)),
      signed(a.dim_test.estimate, d - 1),
      `${a.test_treated}/${a.test_control}`,
    ]),
  ];
}

function policyRows(r: HillstromReport): string[][] {
  const d = digits(r.outcome);
  return [['policy', 'value per customer [95% CI]', 'matched test rows'], ...r.best_arm.values.map((v) => [v.policy, `${v.value.toFixed(d)} [${v.ci_low.toFixed(d)}, ${v.ci_high.toFixed(d)}]`, String(v.matched)])];
}

function headline(r: HillstromReport): string {
  const s = r.source;
  return `Hillstrom e-mail experiment, outcome ${r.outcome}: ${s.rows} customers${r.sample < 1 ? ` (${pct(r.sample, 0)} sample used)` : ''} from ${s.file} (sha256 ${s.sha256.slice(0, 12)}…), seed ${r.seed}, ${r.bootstrap} bootstrap replicates, ${r.seconds.toFixed(1)} s`;
}

function splitLine(r: HillstromReport): string {
  const trees = r.models.map((m) => `${m.group} ${m.trees}`).join(', ');
  return `split: ${r.split.test} test / ${r.split.train} train / ${r.split.valid} calibration (${pct(r.split.valid_fraction, 0)} of the train half); trees kept by early stopping: ${trees}`;
}

function assignmentLine(r: HillstromReport): string {
  return `assignment: ${r.assignment.map((a) => `${a.segment} ${a.rows} (${pct(a.share)})`).join(', ')}`;
}

function bestArmLine(r: HillstromReport): string {
  const b = r.best_arm;
  return `best arm per customer: the model prefers Womens E-Mail for ${pct(b.womens_share)} of ${b.test_customers} test customers, Mens E-Mail for ${pct(b.mens_share)}${b.ties ? ` (${b.ties} ties)` : ''}`;
}

/** The terminal report. */
export function renderHillstromText(r: HillstromReport): string {
  const out = [
    headline(r),
    splitLine(r),
    assignmentLine(r),
    '',
    `average effect, arm − No E-Mail (${r.outcome}${r.outcome === 'spend' ? ', dollars' : ''}):`,
    ...textTable(ateRows(r)),
    '',
    'targeting on the test half by estimated uplift (random targeting = 0):',
    ...textTable(targetingRows(r)),
    '',
    bestArmLine(r),
    ...textTable(policyRows(r)),
    '',
    ...r.notes.map((n) => `note: ${n}`),
  ];
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// HTML

const W = 440;
const H = 280;
const PAD = { l: 64, r: 16, t: 28, b: 40 };

function fmtTick(v: number): string {
  return v === 0 ? '0' : String(Number(v.toPrecision(2)));
}

/** The arm's Qini curve against the random line from (0, 0) to (1, gain(1)). */
function qiniSvg(a: ArmResult, outcome: HillstromOutcome): string {
  const pts = a.qini_curve.filter((p) => Number.isFinite(p.frac) && Number.isFinite(p.gain));
  const last = pts.length ? pts[pts.length - 1].gain : 0;
  let lo = Math.min(0, ...pts.map((p) => p.gain));
  let hi = Math.max(0, ...pts.map((p) => p.gain));
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pw = W - PAD.l - PAD.r;
  const ph = H - PAD.t - PAD.b;
  const X = (f: number) => (PAD.l + f * pw).toFixed(1);
  const Y = (g: number) => (PAD.t + (1 - (g - lo) / (hi - lo)) * ph).toFixed(1);
  const ticksY = [0, 0.25, 0.5, 0.75, 1].map((q) => lo + q * (hi - lo));
  const grid = ticksY.map((v) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${Y(v)}" y2="${Y(v)}" class="grid"/><text x="${PAD.l - 6}" y="${Number(Y(v)) + 4}" text-anchor="end">${escapeHtml(fmtTick(v))}</text>`).join('');
  const ticksX = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${X(f)}" y="${H - PAD.b + 16}" text-anchor="middle">${f * 100}%</text>`).join('');
  const curve = pts.map((p) => `${X(p.frac)},${Y(p.gain)}`).join(' ');
  const title = `Qini curve, ${a.segment} vs No E-Mail (test half)`;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>
<text x="${PAD.l}" y="16" class="h">${escapeHtml(`${a.arm}: Qini ${a.qini.estimate.toPrecision(3)}`)}</text>
${grid}${ticksX}
<line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" class="axis"/><line x1="${PAD.l}" x2="${W - PAD.r}" y1="${Y(0)}" y2="${Y(0)}" class="axis"/>
<line x1="${X(0)}" y1="${Y(0)}" x2="${X(1)}" y2="${Y(last)}" class="random"><title>random targeting</title></line>
<polyline points="${curve}" class="curve"><title>${escapeHtml(title)}</title></polyline>
<text x="${PAD.l + pw / 2}" y="${H - 6}" text-anchor="middle">share of customers targeted, by estimated uplift</text>
<text transform="translate(12 ${PAD.t + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(`incremental ${outcome} per customer`)}</text>
<rect x="${W - PAD.r - 150}" y="${PAD.t + 4}" width="12" height="3" class="lc"/><text x="${W - PAD.r - 132}" y="${PAD.t + 9}">model</text>
<rect x="${W - PAD.r - 90}" y="${PAD.t + 4}" width="12" height="3" class="lr"/><text x="${W - PAD.r - 72}" y="${PAD.t + 9}">random</text>
</svg>`;
}

function htmlTable(rows: string[][]): string {
  const [head, ...body] = rows;
  const th = head.map((h, i) => `<th${i > 0 ? ' class="n"' : ''}>${escapeHtml(h)}</th>`).join('');
  const tr = body.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:980px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666;margin:0 0 4px}
.charts{display:flex;gap:16px;flex-wrap:wrap}
svg.chart{max-width:100%;height:auto;font-size:11px}
svg.chart text{fill:#444}svg.chart text.h{font-size:13px;font-weight:600;fill:#222}
svg.chart .grid{stroke:#eee}svg.chart .axis{stroke:#999}
svg.chart .curve{fill:none;stroke:#4e79a7;stroke-width:2}svg.chart .random{stroke:#e15759;stroke-width:1.5;stroke-dasharray:5 4}
svg.chart .lc{fill:#4e79a7}svg.chart .lr{fill:#e15759}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left}
th.n,td.n{text-align:right}tbody tr:last-child td{border-bottom:none}
.note{color:#555}
`;

/** One self-contained HTML page: ATE table, Qini charts and targeting table, best arm, notes. */
export function renderHillstromHtml(r: HillstromReport): string {
  const modelRows = [
    ['model', 'train rows', 'calibration rows', 'trees', 'Platt a', 'Platt b', 'seconds'],
    ...r.models.map((m) => [m.group, String(m.train_rows), String(m.valid_rows), String(m.trees), m.platt.a.toFixed(3), m.platt.b.toFixed(3), m.seconds.toFixed(2)]),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`paydecide eval hillstrom: ${r.outcome}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(`Uplift learner on the Hillstrom e-mail experiment — ${r.outcome}`)}</h1>
<p class="meta">${escapeHtml(headline(r))}</p>
<p class="meta">${escapeHtml(splitLine(r))}</p>
<p class="meta">${escapeHtml(assignmentLine(r))}</p>
</header>
<section>
<h2>${escapeHtml(`Average effect, arm − No E-Mail (${r.outcome})`)}</h2>
${htmlTable(ateRows(r))}
</section>
<section>
<h2>Targeting on the test half (random targeting = 0)</h2>
<div class="charts">
${r.arms.map((a) => qiniSvg(a, r.outcome)).join('\n')}
</div>
${htmlTable(targetingRows(r))}
</section>
<section>
<h2>Best arm per customer</h2>
<p>${escapeHtml(bestArmLine(r))}</p>
${htmlTable(policyRows(r))}
</section>
<section>
<h2>Models</h2>
${htmlTable(modelRows)}
${r.notes.map((n) => `<p class="note">${escapeHtml(`Note: ${n}`)}</p>`).join('\n')}
</section>
</body>
</html>
`;
}
