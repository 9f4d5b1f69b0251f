/**
 * The evaluation report's renderings: the text names every action with its key figures, the
 * policy values and the OPE intervals against the truth; the HTML is one self-contained,
 * well-formed page whose charts never carry NaN, also for a report without truth and for
 * degenerate data (no calibration rows, flat Qini curves, NaN in empty bins).
 */
import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../jobs/report/cost-report-render';
import { renderEvalHtml, renderEvalText } from '../../jobs/report/eval-report-render';
import type { ActionEval, EvalReport, ReliabilityBin } from '../../jobs/report/eval-report-types';

const ACTIONS = ['cashback', 'referral_prompt', 'autopay_setup', 'card_on_file', 'installment_offer'] as const;

/** Reliability bins of width 0.05 from [mean_pred, frac_pos, count] triples, starting at 0. */
function bins(rows: [number, number, number][]): ReliabilityBin[] {
  return rows.map(([mean_pred, frac_pos, count], i) => ({ lo: i * 0.05, hi: (i + 1) * 0.05, mean_pred, frac_pos, count }));
}

/** A concave Qini curve over deciles reaching `total` at frac 1 (a good model front-loads gain). */
function qini(total: number, peak: number): { frac: number; gain: number }[] {
  return Array.from({ length: 11 }, (_, i) => {
    const frac = i / 10;
    return { frac, gain: Number((total * frac + peak * 4 * frac * (1 - frac)).toFixed(5)) };
  });
}

function action(over: Partial<ActionEval>): ActionEval {
  return {
    auc: 0.712,
    logloss: 0.2871,
    ece: 0.0123,
    auuc: 0.0412,
    qini: 0.0187,
    uplift_at_top_k: [
      { k: 10, uplift: 0.0612, treated: 4210, control: 1033 },
      { k: 30, uplift: 0.0385, treated: 12640, control: 3102 },
    ],
    rows_treated: 42_118,
    rows_control: 10_347,
    reliability: bins([
      [0.031, 0.028, 5120],
      [0.074, 0.081, 11890],
      [0.124, 0.119, 9830],
      [0.173, 0.181, 7010],
      [0.222, 0.214, 4420],
      [0.271, 0.29, 2310],
      [0.318, 0.301, 980],
      [0.367, 0.4, 410],
      [0, 0, 0],
      [0.448, 0.5, 12],
    ]),
    qini_curve: qini(0.021, 0.012),
    mean_est_uplift: 0.0213,
    mean_true_uplift: 0.0198,
    true_uplift_corr: 0.634,
    ...over,
  };
}

function report(): EvalReport {
  return {
    generated_at: '2026-03-02T03:14:00.000Z',
    model_version: 'uplift-v20260301-7f3a',
    as_of: '2026-03-01',
    data: '/data/world-1m',
    test_window: { start: '2026-02-15', end: '2026-02-28', rows: 261_402 },
    actions: {
      cashback: action({ auc: 0.741, logloss: 0.3012, ece: 0.0091, auuc: 0.0534, qini: 0.0241, mean_est_uplift: 0.0342, mean_true_uplift: 0.0331, true_uplift_corr: 0.712, qini_curve: qini(0.034, 0.015) }),
      referral_prompt: action({ auc: 0.655, logloss: 0.1544, ece: 0.0152, auuc: 0.0121, qini: 0.0049, mean_est_uplift: 0.0071, mean_true_uplift: 0.0082, true_uplift_corr: 0.402, qini_curve: qini(0.008, 0.004) }),
      autopay_setup: action({ auc: 0.698, ece: 0.0113, auuc: 0.0388, qini: 0.0161, rows_treated: 39_870, rows_control: 9_912 }),
      card_on_file: action({
        auc: 0.721,
        ece: 0.0207,
        auuc: 0.0295,
        qini: 0.0118,
        // A harmful offer for some users: the curve dips below zero before recovering.
        qini_curve: qini(0.006, -0.004),
        uplift_at_top_k: [
          { k: 10, uplift: -0.0034, treated: 3980, control: 1011 },
          { k: 30, uplift: 0.0107, treated: 11902, control: 2987 },
        ],
      }),
      installment_offer: action({ auc: 0.683, logloss: 0.2411, ece: 0.0178, auuc: 0.0209, qini: 0.0093, mean_est_uplift: 0.0154, mean_true_uplift: 0.0131, true_uplift_corr: 0.547 }),
    },
    policy_value: {
      learned: 0.4127,
      oracle: 0.5318,
      best_single: 0.3511,
      best_single_action: 'cashback',
      random: 0.1872,
      learned_share_of_oracle: 0.776,
      learned_gain_over_best_single: 0.1754,
      learned_mix: { none: 0.212, cashback: 0.301, referral_prompt: 0.054, autopay_setup: 0.188, card_on_file: 0.097, installment_offer: 0.148 },
      oracle_mix: { none: 0.265, cashback: 0.244, referral_prompt: 0.071, autopay_setup: 0.201, card_on_file: 0.089, installment_offer: 0.13 },
    },
    ope: {
      policy: 'learned',
      true_value: 0.4127,
      logged_value: 0.2216,
      ips: { estimate: 0.4312, ci_low: 0.3581, ci_high: 0.5044 },
      snips: { estimate: 0.4188, ci_low: 0.3702, ci_high: 0.4671 },
      dr: { estimate: 0.4151, ci_low: 0.3893, ci_high: 0.4409 },
      rows: 261_402,
      bootstrap: 200,
      clip: 20,
      covers: { ips: true, snips: true, dr: true },
    },
    economics: {
      cashback: { value_usd: 4.2, offer_cost_usd: 0.75 },
      referral_prompt: { value_usd: 12, offer_cost_usd: 0 },
      autopay_setup: { value_usd: 6.5, offer_cost_usd: 0.1 },
      card_on_file: { value_usd: 3.1, offer_cost_usd: 0 },
      installment_offer: { value_usd: 5.4, offer_cost_usd: 0.35 },
    },
    checks: [
      { name: 'learned ≥ 1.1 × best single', target: '≥ +10.0%', actual: '+17.5%', pass: true },
      { name: 'learned share of oracle', target: '≥ 70%', actual: '77.6%', pass: true },
      { name: 'max ECE', target: '≤ 0.02', actual: '0.0207', pass: false },
      { name: 'DR CI covers true value', target: 'yes', actual: 'yes', pass: true },
    ],
    notes: ['card_on_file is harmful for 12% of users at the top decile; see the Qini curve.'],
  };
}

/** A report from real data: no truth anywhere, and some degenerate per-action figures. */
function noTruth(): EvalReport {
  const r = report();
  for (const a of Object.values(r.actions)) {
    a.mean_true_uplift = null;
    a.true_uplift_corr = null;
  }
  // No treated rows with a positive label: no AUC, empty bins (0/0 means), a flat Qini curve.
  r.actions.referral_prompt = {
    ...r.actions.referral_prompt,
    auc: null,
    reliability: Array.from({ length: 10 }, (_, i) => ({ lo: i / 10, hi: (i + 1) / 10, mean_pred: Number.NaN, frac_pos: Number.NaN, count: 0 })),
    qini_curve: Array.from({ length: 11 }, (_, i) => ({ frac: i / 10, gain: 0 })),
    uplift_at_top_k: [],
  };
  // No calibration bins and no curve at all.
  r.actions.card_on_file = { ...r.actions.card_on_file, reliability: [], qini_curve: [] };
  r.policy_value = null;
  r.ope = { ...r.ope, true_value: null, covers: { ips: null, snips: null, dr: null } };
  r.checks = [{ name: 'DR CI width', target: '≤ $0.10', actual: '$0.052', pass: true }];
  r.notes = [];
  return r;
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col', 'wbr']);

/** Tags balance like XML (void elements aside): the page and every SVG are closed and nested properly. */
function unbalancedTags(html: string): string[] {
  const stack: string[] = [];
  const errors: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)\b[^>]*?(\/?)>/g)) {
    const [, close, tag, self] = m;
    const t = tag.toLowerCase();
    if (self || VOID.has(t)) continue;
    if (!close) stack.push(t);
    else if (stack.pop() !== t) errors.push(`</${t}> at ${m.index}`);
  }
  return [...errors, ...stack.map((t) => `<${t}> not closed`)];
}

function expectCleanPage(html: string): void {
  expect(html).toMatch(/^<!doctype html>/);
  expect(html.match(/<html\b/g)).toHaveLength(1);
  expect(html.match(/<\/html>/g)).toHaveLength(1);
  expect(html.match(/<svg\b/g)?.length).toBe(html.match(/<\/svg>/g)?.length);
  expect(unbalancedTags(html)).toEqual([]);
  expect(html).not.toMatch(/NaN|undefined|Infinity/);
  // Self-contained: nothing fetched, no URL at all.
  expect(html).not.toMatch(/https?:\/\//i);
  expect(html).not.toMatch(/\b(src|href)\s*=/i);
  expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
}

describe('renderEvalText', () => {
  const text = renderEvalText(report());
  const lines = text.split('\n');
  const row = (start: string) => lines.find((l) => l.startsWith(start)) ?? '';

  it('has the header: model version, as-of, data and the test window', () => {
    expect(lines[0]).toBe('evaluation of model uplift-v20260301-7f3a (as of 2026-03-01, data /data/world-1m, generated 2026-03-02T03:14:00.000Z)');
    expect(lines[1]).toMatch(/^test window 2026-02-15 \.\. 2026-02-28: 261,402 rows/);
  });

  it('has one aligned row per action with its figures', () => {
    const head = row('action ');
    expect(head).toMatch(/^action\s+AUC\s+logloss\s+ECE\s+AUUC\s+Qini\s+uplift@10%\s+uplift@30%\s+treated\s+control\s+corr true\s+est uplift\s+true uplift$/);
    for (const a of ACTIONS) expect(row(`${a} `).length).toBe(head.length);
    expect(row('cashback ')).toMatch(/^cashback\s+0\.741\s+0\.3012\s+0\.0091\s+0\.0534\s+0\.0241\s+\+6\.12pp\s+\+3\.85pp\s+42,118\s+10,347\s+0\.712\s+\+3\.42pp\s+\+3\.31pp$/);
    expect(row('card_on_file ')).toMatch(/ -0\.34pp\s+\+1\.07pp /);
    expect(row('autopay_setup ')).toMatch(/ 39,870\s+9,912 /);
  });

  it('has the policy values, the share of the oracle, the gain and the action mix', () => {
    expect(row('learned  ')).toMatch(/\$0\.413$/);
    expect(row('oracle  ')).toMatch(/\$0\.532$/);
    expect(row('best single action (cashback)')).toMatch(/\$0\.351$/);
    expect(row('random  ')).toMatch(/\$0\.187$/);
    expect(row('learned share of oracle')).toMatch(/77\.6%$/);
    expect(row('learned gain over best single')).toMatch(/\+17\.5%$/);
    expect(row('installment_offer ') && lines.filter((l) => l.startsWith('installment_offer ')).some((l) => /14\.8%\s+13\.0%$/.test(l))).toBe(true);
    expect(text).not.toContain('truth unavailable');
  });

  it('has the OPE table with the true value and coverage, and the logged value', () => {
    expect(row('IPS ')).toMatch(/^IPS\s+\$0\.431\s+\[\$0\.358, \$0\.504\]\s+\$0\.413\s+yes$/);
    expect(row('SNIPS ')).toMatch(/^SNIPS\s+\$0\.419\s+\[\$0\.37, \$0\.467\]\s+\$0\.413\s+yes$/);
    expect(row('DR ')).toMatch(/^DR\s+\$0\.415\s+\[\$0\.389, \$0\.441\]\s+\$0\.413\s+yes$/);
    expect(text).toContain('logged value (what the logging policy earned): $0.222 per decision');
    expect(text).toContain('261,402 logged decisions, 200 bootstrap resamples, importance weights clipped at 20');
  });

  it('has the checks with PASS/FAIL, the economics and the notes', () => {
    expect(text).toContain('3 of 4 checks pass:');
    expect(row('max ECE')).toMatch(/≤ 0\.02\s+0\.0207\s+FAIL$/);
    expect(row('learned share of oracle ')).toBeTruthy();
    expect(lines.filter((l) => / PASS$/.test(l))).toHaveLength(3);
    expect(text).toMatch(/referral_prompt\s+\$12\.00\s+\$0\n/);
    expect(text).toContain('note: card_on_file is harmful for 12% of users at the top decile; see the Qini curve.');
  });

  it('says the truth is unavailable and prints n/a for missing figures', () => {
    const t = renderEvalText(noTruth());
    expect(t).toContain('policy value: truth unavailable');
    expect(t).not.toContain('learned share of oracle');
    const l = t.split('\n');
    expect(l.find((x) => x.startsWith('referral_prompt '))).toMatch(/^referral_prompt\s+n\/a\s+0\.1544\s+0\.0152\s+0\.0121\s+0\.0049\s+n\/a\s+n\/a\s+42,118\s+10,347\s+n\/a\s+\+0\.71pp\s+n\/a$/);
    expect(l.find((x) => x.startsWith('DR '))).toMatch(/^DR\s+\$0\.415\s+\[\$0\.389, \$0\.441\]\s+n\/a\s+n\/a$/);
    expect(t).toContain('true value: unavailable');
    expect(t).not.toMatch(/NaN|undefined/);
  });
});

describe('renderEvalHtml', () => {
  const html = renderEvalHtml(report());
  const charts = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);

  it('is one well-formed, self-contained page with no NaN or undefined', () => {
    expectCleanPage(html);
    expect(html).toContain('<style>');
  });

  it('draws a reliability diagram and a Qini curve per action, the policy bars and the OPE intervals', () => {
    // 5 reliability + 5 Qini + policy values + OPE.
    expect(charts).toHaveLength(12);
    for (const a of ACTIONS) {
      expect(charts.some((c) => c.includes(`aria-label="${a}: reliability`))).toBe(true);
      expect(charts.some((c) => c.includes(`aria-label="${a}: Qini curve`))).toBe(true);
    }
    const rel = charts.find((c) => c.includes('aria-label="cashback: reliability'))!;
    expect(rel).toContain('class="diag"');
    // Nine non-empty bins: nine points and nine count bars; the empty bin draws nothing.
    expect(rel.match(/<circle [^>]*class="rel"/g)).toHaveLength(9);
    expect(rel.match(/<rect [^>]*class="count"/g)).toHaveLength(9);
    const q = charts.find((c) => c.includes('aria-label="card_on_file: Qini curve'))!;
    expect(q).toContain('class="random"');
    expect(q).toContain('class="qini"');
    expect(q).toContain('class="zero"');
    const pv = charts.find((c) => c.includes('True incremental value per decision'))!;
    for (const l of ['learned', 'oracle', 'best single (cashback)', 'random']) expect(pv).toContain(`>${l}</text>`);
    expect(pv).toContain('$0.413');
    const ope = charts.find((c) => c.includes('Off-policy estimates'))!;
    for (const e of ['IPS', 'SNIPS', 'DR']) expect(ope).toContain(`>${e}</text>`);
    expect(ope).toContain('class="ref-true"');
    expect(ope).toContain('class="ref-logged"');
    expect(ope.match(/class="whisker"/g)).toHaveLength(9);
  });

  it('has the same tables as the text', () => {
    for (const a of ACTIONS) expect(html).toContain(`<td>${a}</td>`);
    expect(html).toContain('<td class="n">0.741</td>');
    expect(html).toContain('<td class="n">+6.12pp</td>');
    expect(html).toContain('<td>best single action (cashback)</td><td class="n">$0.351</td>');
    expect(html).toContain('<td class="n">77.6%</td>');
    expect(html).toContain('<td>DR</td><td class="n">$0.415</td><td class="n">[$0.389, $0.441]</td><td class="n">$0.413</td><td class="n">yes</td>');
    expect(html).toContain('<td class="fail">FAIL</td>');
    expect(html.match(/<td class="pass">PASS<\/td>/g)).toHaveLength(3);
    expect(html).toContain('3 of 4 checks pass');
    expect(html).toContain('Note: card_on_file is harmful');
  });

  it('escapes text taken from the report', () => {
    const r = report();
    r.notes = ['<script>alert(1)</script>'];
    r.model_version = 'v1"><b>';
    r.checks[0].name = '<img src=x onerror=alert(1)>';
    r.actions['<svg onload=alert(1)>'] = action({});
    const h = renderEvalHtml(r);
    expect(h).not.toContain('<script');
    expect(h).not.toContain('"><b>');
    expect(h).not.toContain('<img');
    expect(h).not.toContain('<svg onload');
    expect(h).toContain(escapeHtml('<script>alert(1)</script>'));
    expect(unbalancedTags(h)).toEqual([]);
  });

  it('renders a report without truth and with degenerate data', () => {
    const h = renderEvalHtml(noTruth());
    expectCleanPage(h);
    expect(h).toContain('Truth unavailable');
    expect(h).not.toContain('True incremental value per decision');
    expect(h).not.toContain('class="ref-true"');
    expect(h).toContain('class="ref-logged"');
    const c = [...h.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    // 5 reliability + 5 Qini + OPE; no policy chart.
    expect(c).toHaveLength(11);
    expect(c.find((x) => x.includes('aria-label="referral_prompt: reliability'))).toContain('>no rows</text>');
    expect(c.find((x) => x.includes('aria-label="card_on_file: reliability'))).toContain('>no rows</text>');
    expect(c.find((x) => x.includes('aria-label="card_on_file: Qini'))).toContain('>no curve</text>');
    expect(c.find((x) => x.includes('aria-label="referral_prompt: Qini'))).toContain('class="qini"');
    expect(h).toContain('<td class="n">n/a</td>');
  });

  it('draws no NaN for a report where every figure is degenerate', () => {
    const r = noTruth();
    for (const a of Object.values(r.actions)) Object.assign(a, { auc: null, qini_curve: [{ frac: 0, gain: 0 }], reliability: [], uplift_at_top_k: [], logloss: Number.NaN });
    r.ope = { ...r.ope, ips: { estimate: Number.NaN, ci_low: Number.NaN, ci_high: Number.NaN }, snips: { estimate: 0, ci_low: 0, ci_high: 0 }, dr: { estimate: 0, ci_low: 0, ci_high: 0 }, logged_value: 0 };
    r.checks = [];
    expectCleanPage(renderEvalHtml(r));
    expect(renderEvalText(r)).not.toMatch(/NaN|undefined|Infinity/);
  });
});
