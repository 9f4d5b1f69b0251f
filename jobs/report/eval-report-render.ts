/**
 * The model evaluation report for people: aligned text tables for the terminal, and one
 * self-contained HTML page (inline CSS and SVG, nothing fetched) with a reliability diagram and a
 * Qini curve per action, the policy values and the off-policy estimates against the truth.
 * Pure string building from an `EvalReport`: figures are formatted, never recomputed. A figure
 * that is null or not finite prints as "n/a" and draws no mark.
 */
import { escapeHtml, formatUsd } from './cost-report-render';
import type { ActionEval, EvalReport, Interval } from './eval-report-types';
import { circle, extent, horizontalBars, intervalChart, line, niceDomain, path, rect, svg, text, xyFrame, type Domain } from './svg-charts';

const NA = 'n/a';

const ok = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

function fixed(x: number | null | undefined, digits: number): string {
  return ok(x) ? x.toFixed(digits) : NA;
}

function pct(x: number | null | undefined, digits = 1): string {
  return ok(x) ? `${(x * 100).toFixed(digits)}%` : NA;
}

function signed(s: string): string {
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s.startsWith('-') ? s : `+${s}`;
}

/** A gain over a baseline, signed: +14.2%. */
function signedPct(x: number | null | undefined): string {
  return ok(x) ? `${signed((x * 100).toFixed(1))}%` : NA;
}

/** An uplift (difference of two rates) in percentage points: +2.31pp. */
function pp(x: number | null | undefined): string {
  return ok(x) ? `${signed((x * 100).toFixed(2))}pp` : NA;
}

function usd(x: number | null | undefined): string {
  return ok(x) ? formatUsd(x) : NA;
}

function int(x: number | null | undefined): string {
  return ok(x) ? Math.round(x).toLocaleString('en-US') : NA;
}

function ci(i: Interval): string {
  return `[${usd(i.ci_low)}, ${usd(i.ci_high)}]`;
}

function covers(c: boolean | null): string {
  return c === null ? NA : c ? 'yes' : 'NO';
}

/** `k` of uplift@k: a share (0.1) or a percentage (10) of the users; both print as "10%". */
function kLabel(k: number): string {
  return `${Number((k < 1 ? k * 100 : k).toPrecision(6))}%`;
}

/** Every k reported by any action, ascending, so the table has one column per k. */
function topKs(r: EvalReport): number[] {
  return [...new Set(Object.values(r.actions).flatMap((a) => a.uplift_at_top_k.map((u) => u.k)))].sort((a, b) => a - b);
}

/** Cell: text, or text with a class for the HTML (PASS/FAIL colour). */
type Cell = string | { text: string; cls: string };
const cellText = (c: Cell) => (typeof c === 'string' ? c : c.text);

interface Table {
  head: string[];
  rows: Cell[][];
  /** Columns before this one are left-aligned labels, the rest right-aligned figures. */
  numericFrom: number;
}

function actionTable(r: EvalReport): Table {
  const ks = topKs(r);
  const head = ['action', 'AUC', 'logloss', 'ECE', 'AUUC', 'Qini', ...ks.map((k) => `uplift@${kLabel(k)}`), 'treated', 'control', 'corr true', 'est uplift', 'true uplift'];
  const rows = Object.entries(r.actions).map(([name, a]) => [
    name,
    fixed(a.auc, 3),
    fixed(a.logloss, 4),
    fixed(a.ece, 4),
    fixed(a.auuc, 4),
    fixed(a.qini, 4),
    ...ks.map((k) => pp(a.uplift_at_top_k.find((u) => u.k === k)?.uplift)),
    int(a.rows_treated),
    int(a.rows_control),
    fixed(a.true_uplift_corr, 3),
    pp(a.mean_est_uplift),
    pp(a.mean_true_uplift),
  ]);
  return { head, rows, numericFrom: 1 };
}

const NO_TRUTH = 'policy value: truth unavailable (this data is not a synthetic world), so no true policy values';

function policyTable(r: EvalReport): Table | null {
  const p = r.policy_value;
  if (!p) return null;
  return {
    head: ['policy value (true, per decision, over none)', 'value'],
    rows: [
      ['learned', usd(p.learned)],
      ['oracle', usd(p.oracle)],
      [`best single action (${p.best_single_action})`, usd(p.best_single)],
      ['random', usd(p.random)],
      ['learned share of oracle', pct(p.learned_share_of_oracle)],
      ['learned gain over best single', signedPct(p.learned_gain_over_best_single)],
    ],
    numericFrom: 1,
  };
}

function mixTable(r: EvalReport): Table | null {
  const p = r.policy_value;
  if (!p) return null;
  const names = [...new Set([...Object.keys(r.actions), ...Object.keys(p.learned_mix), ...Object.keys(p.oracle_mix)])];
  return { head: ['action mix', 'learned', 'oracle'], rows: names.map((n) => [n, pct(p.learned_mix[n]), pct(p.oracle_mix[n])]), numericFrom: 1 };
}

const ESTIMATORS = [
  ['IPS', 'ips'],
  ['SNIPS', 'snips'],
  ['DR', 'dr'],
] as const;

function opeTable(r: EvalReport): Table {
  const o = r.ope;
  return {
    head: ['estimator', 'estimate', '95% CI', 'true value', 'CI covers true'],
    rows: ESTIMATORS.map(([label, k]) => [label, usd(o[k].estimate), ci(o[k]), usd(o.true_value), covers(o.covers[k])]),
    numericFrom: 1,
  };
}

function opeLines(r: EvalReport): string[] {
  const o = r.ope;
  return [
    `off-policy evaluation of ${o.policy}: ${int(o.rows)} logged decisions, ${int(o.bootstrap)} bootstrap resamples, importance weights clipped at ${ok(o.clip) ? Number(o.clip.toPrecision(6)) : NA}`,
    `logged value (what the logging policy earned): ${usd(o.logged_value)} per decision`,
    ...(o.true_value === null ? ['true value: unavailable (no truth in this data), coverage not checked'] : []),
  ];
}

function checksTable(r: EvalReport): Table {
  return {
    head: ['check', 'target', 'actual', 'result'],
    rows: r.checks.map((c) => [c.name, c.target, c.actual, c.pass ? { text: 'PASS', cls: 'pass' } : { text: 'FAIL', cls: 'fail' }]),
    numericFrom: 99,
  };
}

function economicsTable(r: EvalReport): Table {
  return { head: ['economics (USD)', 'outcome value', 'offer cost'], rows: Object.entries(r.economics).map(([n, e]) => [n, usd(e.value_usd), usd(e.offer_cost_usd)]), numericFrom: 1 };
}

function checksSummary(r: EvalReport): string {
  const passed = r.checks.filter((c) => c.pass).length;
  return `${passed} of ${r.checks.length} checks pass`;
}

function textTable(t: Table): string[] {
  const rows = [t.head, ...t.rows.map((row) => row.map(cellText))];
  const width = t.head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((c, i) => (i < t.numericFrom ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ').trimEnd());
}

/** Aligned tables and lines for the terminal. */
export function renderEvalText(r: EvalReport): string {
  const policy = policyTable(r);
  const mix = mixTable(r);
  const out = [
    `evaluation of model ${r.model_version} (as of ${r.as_of}, data ${r.data}, generated ${r.generated_at})`,
    `test window ${r.test_window.start} .. ${r.test_window.end}: ${int(r.test_window.rows)} rows (latest matured decisions, never used to train or calibrate)`,
    '',
    ...textTable(actionTable(r)),
    '',
    ...(policy && mix ? [...textTable(policy), '', ...textTable(mix)] : [NO_TRUTH]),
    '',
    ...opeLines(r),
    ...textTable(opeTable(r)),
    '',
    ...(r.checks.length ? [`${checksSummary(r)}:`, ...textTable(checksTable(r))] : ['checks: none']),
    '',
    ...textTable(economicsTable(r)),
    ...(r.notes.length ? ['', ...r.notes.map((n) => `note: ${n}`)] : []),
  ];
  return `${out.join('\n')}\n`;
}

// ---- HTML ----

function htmlTable(t: Table): string {
  const cls = (i: number, extra = '') => {
    const c = [i >= t.numericFrom ? 'n' : '', extra].filter(Boolean).join(' ');
    return c ? ` class="${c}"` : '';
  };
  const th = t.head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('');
  const tr = t.rows.map((row) => `<tr>${row.map((c, i) => `<td${cls(i, typeof c === 'string' ? '' : c.cls)}>${escapeHtml(cellText(c))}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

const SMALL_W = 280;
const SMALL_H = 230;

/**
 * One axis range for every action's reliability diagram so the small multiples compare: uptake
 * rates are often a few percent, so [0, 1] would crush every point into a corner.
 */
function reliabilityDomain(r: EvalReport): Domain {
  const v = Object.values(r.actions).flatMap((a) => a.reliability.filter((b) => b.count > 0).flatMap((b) => [b.mean_pred, b.frac_pos]));
  // 5% headroom so the largest point is not cut by the frame.
  const hi = Math.min(1, niceDomain([0, extent(v, [0])[1] * 1.05], 4)[1]);
  return [0, hi > 0 ? hi : 1];
}

function reliabilityChart(name: string, a: ActionEval, d: Domain): string {
  const f = xyFrame(SMALL_W, SMALL_H, { domain: d, label: 'predicted P(goal | offered)', format: (v) => fixed(v, 2), ticks: 4 }, { domain: d, label: 'observed frequency', format: (v) => fixed(v, 2), ticks: 4 });
  const bins = a.reliability.filter((b) => b.count > 0 && ok(b.mean_pred) && ok(b.frac_pos));
  const maxCount = Math.max(0, ...a.reliability.map((b) => (ok(b.count) ? b.count : 0)));
  // Counts as a strip of bars along the bottom (a fifth of the height), clipped to the axis range.
  const strip = (f.bottom - f.top) / 5;
  const bars = a.reliability
    .filter((b) => b.count > 0 && ok(b.lo) && ok(b.hi) && b.lo < d[1])
    .map((b) => rect(f.x(Math.max(d[0], b.lo)), f.bottom, f.x(Math.min(d[1], b.hi)), f.bottom - (b.count / maxCount) * strip, 'count', `[${fixed(b.lo, 2)}, ${fixed(b.hi, 2)}): ${int(b.count)} rows`))
    .join('');
  const pts = bins.map((b) => [f.x(b.mean_pred), f.y(b.frac_pos)] as const);
  const dots = bins
    .map((b, i) => circle(pts[i][0], pts[i][1], 2.5 + 4.5 * Math.sqrt(b.count / maxCount), 'rel', `[${fixed(b.lo, 2)}, ${fixed(b.hi, 2)}): predicted ${fixed(b.mean_pred, 3)}, observed ${fixed(b.frac_pos, 3)}, ${int(b.count)} rows`))
    .join('');
  const empty = bins.length === 0 ? text((f.left + f.right) / 2, (f.top + f.bottom) / 2, 'no rows', 'v', 'middle') : '';
  const body = `${f.axes}${bars}${line(f.x(d[0]), f.y(d[0]), f.x(d[1]), f.y(d[1]), 'diag')}${path(pts, 'rel')}${dots}${empty}`;
  return svg(SMALL_W, SMALL_H, `${name}: reliability, predicted vs observed (ECE ${fixed(a.ece, 4)})`, body);
}

/** One y range for every action's Qini curve, including 0. */
function qiniDomain(r: EvalReport): Domain {
  const v = Object.values(r.actions).flatMap((a) => a.qini_curve.map((p) => p.gain));
  return niceDomain(extent(v, [0]), 4);
}

function qiniChart(name: string, a: ActionEval, d: Domain): string {
  const f = xyFrame(SMALL_W, SMALL_H, { domain: [0, 1], label: 'share of users targeted', format: (v) => pct(v, 0), ticks: 4 }, { domain: d, label: 'Qini gain', format: (v) => fixed(v, 3), ticks: 4 });
  const pts = a.qini_curve.filter((p) => ok(p.frac) && ok(p.gain));
  // The curve starts at the origin: targeting nobody gains nothing.
  const curve = pts.length && pts[0].frac > 0 ? [{ frac: 0, gain: 0 }, ...pts] : pts;
  const last = curve[curve.length - 1];
  // Random targeting: the straight line from the origin to the whole population's gain.
  const random = last ? line(f.x(0), f.y(0), f.x(last.frac), f.y(last.gain), 'random') : '';
  const zero = d[0] < 0 ? line(f.left, f.y(0), f.right, f.y(0), 'zero') : '';
  const empty = curve.length < 2 ? text((f.left + f.right) / 2, (f.top + f.bottom) / 2, 'no curve', 'v', 'middle') : '';
  const body = `${f.axes}${zero}${random}${path(curve.map((p) => [f.x(p.frac), f.y(p.gain)] as const), 'qini')}${empty}`;
  return svg(SMALL_W, SMALL_H, `${name}: Qini curve against random targeting (Qini ${fixed(a.qini, 4)})`, body);
}

function grid(r: EvalReport, chart: (name: string, a: ActionEval) => string, caption: (a: ActionEval) => string): string {
  const figs = Object.entries(r.actions).map(([n, a]) => `<figure><figcaption><b>${escapeHtml(n)}</b> ${escapeHtml(caption(a))}</figcaption>${chart(n, a)}</figure>`);
  return `<div class="grid">\n${figs.join('\n')}\n</div>`;
}

function policyChart(r: EvalReport): string {
  const p = r.policy_value!;
  return horizontalBars(
    [
      { label: 'learned', value: p.learned, valueLabel: usd(p.learned), cls: 'b-learned' },
      { label: 'oracle', value: p.oracle, valueLabel: usd(p.oracle), cls: 'b-oracle' },
      { label: `best single (${p.best_single_action})`, value: p.best_single, valueLabel: usd(p.best_single), cls: 'b-single' },
      { label: 'random', value: p.random, valueLabel: usd(p.random), cls: 'b-random' },
    ],
    'True incremental value per decision (USD over none) by policy',
  );
}

function opeChart(r: EvalReport): string {
  const o = r.ope;
  const refs = [
    ...(o.true_value !== null ? [{ value: o.true_value, label: 'true value', cls: 'ref-true' }] : []),
    { value: o.logged_value, label: 'logged policy earned', cls: 'ref-logged' },
  ];
  return intervalChart(
    ESTIMATORS.map(([label, k]) => ({ label, estimate: o[k].estimate, lo: o[k].ci_low, hi: o[k].ci_high, valueLabel: `${usd(o[k].estimate)} ${ci(o[k])}` })),
    refs,
    `Off-policy estimates of ${o.policy} per decision, with 95% CIs`,
    usd,
  );
}

function kpi(label: string, value: string, sub: string, state: 'ok' | 'over' | 'na'): string {
  return `<div class="kpi ${state}"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="sub">${escapeHtml(sub)}</div></div>`;
}

function kpis(r: EvalReport): string {
  const p = r.policy_value;
  const dr = r.ope.dr;
  const allPass = r.checks.every((c) => c.pass);
  return [
    p
      ? kpi('learned policy, share of oracle', pct(p.learned_share_of_oracle), `${usd(p.learned)} vs ${usd(p.oracle)} per decision; ${signedPct(p.learned_gain_over_best_single)} over ${p.best_single_action}`, p.learned_gain_over_best_single > 0 ? 'ok' : 'over')
      : kpi('learned policy, share of oracle', NA, 'truth unavailable in this data', 'na'),
    kpi('DR estimate per decision', usd(dr.estimate), `95% CI ${ci(dr)}${r.ope.true_value !== null ? `; true ${usd(r.ope.true_value)}, ${r.ope.covers.dr ? 'covered' : 'NOT covered'}` : '; no truth'}`, r.ope.covers.dr === null ? 'na' : r.ope.covers.dr ? 'ok' : 'over'),
    kpi('checks', checksSummary(r), allPass ? 'all targets met' : `failing: ${r.checks.filter((c) => !c.pass).map((c) => c.name).join(', ')}`, r.checks.length === 0 ? 'na' : allPass ? 'ok' : 'over'),
  ].join('\n');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666;margin:0 0 16px}
.kpis{display:flex;gap:12px;flex-wrap:wrap}
.kpi{flex:1 1 240px;border:1px solid #ddd;border-left:6px solid #999;border-radius:6px;padding:10px 14px}
.kpi.ok{border-left-color:#59a14f}.kpi.over{border-left-color:#e15759}.kpi.na{border-left-color:#bbb}
.kpi .label{color:#555;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.kpi .value{font-size:24px;font-weight:600;margin:2px 0}
.kpi .sub{color:#555;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
figure{margin:0;border:1px solid #eee;border-radius:6px;padding:6px}
figcaption{font-size:12px;color:#555;margin:0 0 2px}figcaption b{color:#222;font-size:13px}
svg.chart{max-width:100%;height:auto;font-size:12px}
svg.chart text{fill:#222}svg.chart text.v,svg.chart text.lg,svg.chart text.tk,svg.chart text.ax{fill:#555}
svg.chart text.tk{font-size:10px}svg.chart text.ax{font-size:11px}
svg.chart .grid{stroke:#eee;stroke-width:1}svg.chart .frame{fill:none;stroke:#ccc}
svg.chart .zero{stroke:#888;stroke-width:1}
svg.chart .diag{stroke:#aaa;stroke-dasharray:4 3}
svg.chart path.rel{fill:none;stroke:#4e79a7;stroke-width:1.5}svg.chart circle.rel{fill:#4e79a7;fill-opacity:.75;stroke:#fff}
svg.chart rect.count{fill:#d5d0c8}
svg.chart path.qini{fill:none;stroke:#f28e2b;stroke-width:2}svg.chart .random{stroke:#999;stroke-dasharray:5 4}
svg.chart .b-learned{fill:#4e79a7}svg.chart .b-oracle{fill:#59a14f}svg.chart .b-single{fill:#f28e2b}svg.chart .b-random{fill:#bab0ac}
svg.chart .est{fill:#4e79a7}svg.chart line.whisker{stroke:#4e79a7;stroke-width:2}
svg.chart line.ref-true{stroke:#e15759;stroke-width:2}svg.chart line.ref-logged{stroke:#888;stroke-width:1.5;stroke-dasharray:5 4}
svg.chart rect.sw.ref-true{fill:#e15759}svg.chart rect.sw.ref-logged{fill:#888}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;margin:8px 0}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left}
th.n,td.n{text-align:right}tbody tr:last-child td{border-bottom:none}
td.pass{color:#2e7d32;font-weight:600}td.fail{color:#c62828;font-weight:600}
.wide{overflow-x:auto}
.note{color:#8a5a00}
`;

/** One self-contained HTML page: headline figures, per-action small multiples, policy values, OPE, checks. */
export function renderEvalHtml(r: EvalReport): string {
  const policy = policyTable(r);
  const mix = mixTable(r);
  const relD = reliabilityDomain(r);
  const qiniD = qiniDomain(r);
  const policyHtml =
    policy && mix
      ? `${policyChart(r)}\n${htmlTable(policy)}\n${htmlTable(mix)}`
      : `<p>${escapeHtml('Truth unavailable: this data is not a synthetic world, so there are no true policy values. See the off-policy estimates below.')}</p>`;
  const opeHtml = `${opeLines(r).map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}\n${opeChart(r)}\n${htmlTable(opeTable(r))}`;
  const checksHtml = r.checks.length ? htmlTable(checksTable(r)) : `<p>${escapeHtml('No checks.')}</p>`;
  const notes = r.notes.map((n) => `<p class="note">${escapeHtml(`Note: ${n}`)}</p>`).join('\n');
  const w = r.test_window;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`paydecide eval: ${r.model_version}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(`Evaluation of model ${r.model_version}`)}</h1>
<p class="meta">${escapeHtml(`as of ${r.as_of} · data ${r.data} · test window ${w.start} .. ${w.end}, ${int(w.rows)} rows · generated ${r.generated_at}`)}</p>
<div class="kpis">
${kpis(r)}
</div>
</header>
<section>
<h2>Per action (test split)</h2>
<div class="wide">${htmlTable(actionTable(r))}</div>
</section>
<section>
<h2>Calibration: predicted vs observed uptake</h2>
${grid(r, (n, a) => reliabilityChart(n, a, relD), (a) => `AUC ${fixed(a.auc, 3)} · logloss ${fixed(a.logloss, 4)} · ECE ${fixed(a.ece, 4)}`)}
</section>
<section>
<h2>Qini curves against random targeting</h2>
${grid(r, (n, a) => qiniChart(n, a, qiniD), (a) => `Qini ${fixed(a.qini, 4)} · AUUC ${fixed(a.auuc, 4)}`)}
</section>
<section>
<h2>Policy value</h2>
${policyHtml}
</section>
<section>
<h2>Off-policy evaluation</h2>
${opeHtml}
</section>
<section>
<h2>Checks</h2>
${checksHtml}
</section>
<section>
<h2>Economics</h2>
${htmlTable(economicsTable(r))}
${notes}
</section>
</body>
</html>
`;
}
