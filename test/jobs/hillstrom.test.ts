/**
 * The uplift learner on the real Hillstrom e-mail experiment (data/hillstrom, 64,000 customers
 * randomised to a men's e-mail, a women's e-mail or none), at seed 1 with 200 bootstrap
 * replicates — the CLI's defaults, so these figures are the ones `paydecide eval hillstrom`
 * prints. About 6 s on 2 cores for the whole data, so no subsample.
 *
 * What holds on this data (checked over seeds 1–10, see the comments at each assertion):
 * - The recovered ATEs have the right signs and order (mens > womens > 0) and are within their
 *   own sampling noise of the differences in means. They lie inside the difference in means'
 *   95% interval for womens but NOT for mens at this seed (+0.0693 against [+0.0700, +0.0832]),
 *   and for only 9 of 20 arm × seed pairs: Platt's intercept sets each model's mean to the
 *   calibration slice's outcome rate, so the recovered ATE equals that 15% slice's difference in
 *   means (to ±0.002) and carries its noise, ≈ 2.4 × the full-data standard error.
 * - Targeting: the women's e-mail Qini is positive with a bootstrap interval excluding 0 (every
 *   seed); the men's e-mail Qini is indistinguishable from random targeting (−0.0003 … +0.0011
 *   over seeds; its interval includes 0 at seed 1) — the men's e-mail lifts visits about evenly.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { PaydecideError } from '../../core/errors';
import { evaluateHillstrom, FEATURE_NAMES, HILLSTROM_GBDT_PARAMS, parseHillstromCsv, runHillstrom, type HillstromReport } from '../../jobs/eval/hillstrom';
import { renderHillstromHtml, renderHillstromText } from '../../jobs/eval/hillstrom-render';

const ROOT = path.resolve(__dirname, '..', '..');
const CSV = path.join(ROOT, 'data', 'hillstrom', 'hillstrom.csv');
const SHA256 = 'ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c';
const TEXT = fs.readFileSync(CSV, 'utf8');
const LINES = TEXT.split('\r\n');

/** The header plus the first `rows` data lines of the real file, with `edit` applied to the lines. */
function head(rows: number, edit: (lines: string[]) => void = () => {}): string {
  const lines = LINES.slice(0, rows + 1);
  edit(lines);
  return lines.join('\r\n');
}

function schemaError(text: string): PaydecideError {
  try {
    parseHillstromCsv(text, 'bad.csv');
  } catch (e) {
    expect(e).toBeInstanceOf(PaydecideError);
    expect((e as PaydecideError).code).toBe('PD_ERR_INPUT_SCHEMA');
    expect((e as PaydecideError).exitCode).toBe(2);
    return e as PaydecideError;
  }
  throw new Error('expected a schema error');
}

describe('Hillstrom CSV', () => {
  it('parses the shipped copy: 64,000 rows, the arms, quoted comma values and one-hot features', () => {
    const d = parseHillstromCsv(TEXT);
    expect(d.n).toBe(64_000);
    expect(d.f).toBe(FEATURE_NAMES.length);
    const counts = [0, 0, 0];
    for (const s of d.segment) counts[s]++;
    expect(counts).toEqual([21_306, 21_307, 21_387]); // No E-Mail, Mens, Womens (README)
    // Every row has exactly one history_segment, zip_code and channel.
    for (let r = 0; r < d.n; r += 997) {
      const oneHot = Array.from(d.x.subarray(r * d.f + 5, (r + 1) * d.f));
      expect(oneHot.reduce((a, b) => a + b, 0)).toBe(3);
    }
    // A row like `5,"6) $750 - $1,000",828.42,…`: the quoted comma stays in one field (so the
    // naive split's 4th piece is the history).
    const r = LINES.findIndex((l) => l.includes('"6) $750 - $1,000"')) - 1;
    expect(d.x[r * d.f + 1]).toBeCloseTo(Number(LINES[r + 1].split(',')[3]), 2);
    expect(d.x[r * d.f + FEATURE_NAMES.indexOf('history_segment=6) $750 - $1,000')]).toBe(1);
    expect(fs.readFileSync(path.join(ROOT, 'data', 'hillstrom', 'README.md'), 'utf8')).toContain(SHA256);
  });

  it('names the line and column of bad input', () => {
    expect(schemaError(head(3, (l) => (l[0] = l[0].replace(',spend', '')))).message).toMatch(/^bad\.csv line 1: header lacks column "spend"/);
    expect(schemaError(head(5, (l) => (l[3] = l[3].replace('180.65', 'abc')))).message).toBe('bad.csv line 4: column "history" (field 3) is "abc"; expected a number');
    expect(schemaError(head(5, (l) => (l[2] = l[2].replace(/,0$/, ',')))).message).toBe('bad.csv line 3: column "spend" (field 12) is ""; expected a number');
    expect(schemaError(head(5, (l) => (l[5] = l[5].replace(/,0,0$/, ',2,0')))).message).toBe('bad.csv line 6: column "conversion" (field 11) is "2"; expected 0 or 1');
    expect(schemaError(head(5, (l) => (l[2] = l[2].replace('Rural', 'Suburban')))).message).toMatch(/^bad\.csv line 3: column "zip_code" \(field 6\) is "Suburban"; expected one of "Urban", "Surburban", "Rural"/);
    expect(schemaError(head(5, (l) => (l[4] += ',7')))).toHaveProperty('message', 'bad.csv line 5: 13 fields, the header has 12');
    expect(schemaError(head(5, (l) => (l[1] = l[1].replace('2) $100', '"2) $100'))))).toHaveProperty('message', 'bad.csv line 2: field 2 opens a quote that is not closed on this line');
    expect(schemaError(head(0)).message).toBe('bad.csv line 1: no data rows after the header');
    expect(schemaError('').message).toMatch(/line 1: the file is empty/);
  });

  it('a missing file is PD_ERR_INPUT_MISSING', () => {
    expect(() => runHillstrom({ csv: path.join(os.tmpdir(), 'no-such-hillstrom.csv') })).toThrow(/PD_ERR_INPUT_MISSING|no file/);
  });
});

describe('T-learner on the Hillstrom experiment (visit, seed 1)', () => {
  let r: HillstromReport;
  beforeAll(() => {
    r = runHillstrom({ csv: CSV, outcome: 'visit', seed: 1, bootstrap: 200 });
  });
  const arm = (name: 'mens' | 'womens') => {
    const a = r.arms.find((x) => x.arm === name);
    if (!a) throw new Error(`no arm ${name}`);
    return a;
  };

  it('reads the shipped file and splits it 50/50, calibration slice 30% of the train half', () => {
    expect(r.source.sha256).toBe(SHA256);
    expect(r.source.rows).toBe(64_000);
    expect(r.split).toEqual({ train: 22_400, valid: 9_600, test: 32_000, valid_fraction: 0.3 });
    expect(r.assignment.map((a) => a.rows)).toEqual([21_307, 21_387, 21_306]);
  });

  it('the differences in means are the arms\' known ATEs (checked independently in Python)', () => {
    expect(arm('mens').dim.estimate).toBeCloseTo(0.07659, 5);
    expect(arm('womens').dim.estimate).toBeCloseTo(0.04523, 5);
    expect(arm('mens').dim.ci_high - arm('mens').dim.estimate).toBeCloseTo(0.00664, 4);
    expect(arm('womens').dim.ci_high - arm('womens').dim.estimate).toBeCloseTo(0.00634, 4);
  });

  it('recovers both ATEs: right signs and order, within their own noise of the difference in means', () => {
    const m = arm('mens');
    const w = arm('womens');
    expect(m.recovered_ate).toBeGreaterThan(0);
    expect(w.recovered_ate).toBeGreaterThan(0);
    expect(m.recovered_ate).toBeGreaterThan(w.recovered_ate);
    for (const a of [m, w]) {
      // The level is the calibration slice's: within 0.002 of its difference in means at every seed 1–10.
      expect(Math.abs(a.recovered_ate - a.dim_valid.estimate)).toBeLessThan(0.003);
      // …so the fair yardstick is that slice's noise, not the full-data interval.
      expect(a.consistent).toBe(true);
      expect(Math.abs(a.z)).toBeLessThan(1.96);
    }
    // Inside the full-data 95% interval: womens yes; mens misses by 0.0007 at this seed (see the
    // file comment: 9 of 20 arm × seed pairs fall inside, as a slice this size predicts).
    expect(w.inside_ci).toBe(true);
    expect(w.recovered_ate).toBeGreaterThanOrEqual(w.dim.ci_low);
    expect(w.recovered_ate).toBeLessThanOrEqual(w.dim.ci_high);
    expect(m.recovered_ate).toBeGreaterThan(m.dim.ci_low - 1.96 * m.deviation_se);
    expect(r.notes.join(' ')).toMatch(/inside that 95% interval only about 59%/);
  });

  it('targets the women\'s e-mail better than random; the men\'s e-mail not distinguishably', () => {
    const m = arm('mens');
    const w = arm('womens');
    expect(w.qini.estimate).toBeGreaterThan(0);
    expect(w.qini.ci_low).toBeGreaterThan(0);
    expect(w.auuc.ci_low).toBeGreaterThan(0);
    // Men's e-mail: the Qini estimate is +0.0007, its interval [−0.0004, +0.0022] includes 0
    // (over seeds 1–10 the estimate ranges −0.0003 … +0.0011): no evidence the model ranks
    // customers by their men's-e-mail uplift. If a better learner changes this, update here.
    expect(m.qini.ci_low).toBeLessThan(0);
    expect(m.qini.ci_high).toBeGreaterThan(0);
    expect(m.qini.estimate).toBeLessThan(w.qini.estimate);
    for (const a of [m, w]) {
      expect(a.qini.ci_low).toBeLessThanOrEqual(a.qini.estimate);
      expect(a.qini.ci_high).toBeGreaterThanOrEqual(a.qini.estimate);
      expect(a.uplift_at_k.map((u) => u.k)).toEqual([0.1, 0.2, 0.3, 0.5]);
      expect(a.uplift_at_k.every((u) => Number.isFinite(u.uplift))).toBe(true);
      expect(a.qini_curve).toHaveLength(101);
      expect(a.test_treated + a.test_control).toBeGreaterThan(21_000);
    }
    // Women's e-mail: the top 10% by estimated uplift gain more than the test half on average.
    expect(w.uplift_at_k[0].uplift).toBeGreaterThan(w.dim_test.estimate);
  });

  it('reports the best arm per customer and the policies\' values', () => {
    const b = r.best_arm;
    expect(b.womens_share + b.mens_share + b.ties / b.test_customers).toBeCloseTo(1, 12);
    expect(b.womens_share).toBeGreaterThan(0);
    expect(b.womens_share).toBeLessThan(0.5); // 0.13 … 0.37 over seeds 1–10
    expect(b.values.map((v) => v.policy)).toEqual(['best arm per customer (model)', 'Mens E-Mail to all', 'Womens E-Mail to all', 'No E-Mail']);
    const none = b.values[3];
    for (const v of b.values.slice(0, 3)) expect(v.ci_low).toBeGreaterThan(none.ci_high);
  });

  it('renders a text table and a self-contained HTML page without NaN', () => {
    const text = renderHillstromText(r);
    expect(text).toMatch(/^Hillstrom e-mail experiment, outcome visit: 64000 customers/);
    expect(text).toMatch(/\nmens +\+0\.0766 \[\+0\.0700, \+0\.0832\] +\+0\.0693 /);
    expect(text).toContain('no IPS weights');
    const html = renderHillstromHtml(r);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('class="random"');
    expect(html).not.toMatch(/NaN|undefined/);
    expect(html).not.toMatch(/<(script|link|img)\b/);
    expect(html).toContain('Mens E-Mail 21307 (33.3%)');
  });

  it('uses the production uplift models\' tree settings', async () => {
    const { UPLIFT_GBDT_PARAMS } = await import('../../jobs/train/train-uplift');
    const { seed: _seed, ...prod } = UPLIFT_GBDT_PARAMS;
    expect(HILLSTROM_GBDT_PARAMS).toEqual(prod);
    expect(r.params).toEqual({ ...prod, seed: 1 });
  });
});

describe('other outcomes, gzip and the CLI', () => {
  it('reads .csv.gz and evaluates spend on a seeded 20% sample (dollars, fractional outcome)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hillstrom-'));
    try {
      const gz = path.join(dir, 'hillstrom.csv.gz');
      fs.writeFileSync(gz, gzipSync(fs.readFileSync(CSV)));
      const r = runHillstrom({ csv: gz, outcome: 'spend', seed: 3, bootstrap: 20, sample: 0.2 });
      expect(r.source.rows).toBe(64_000);
      expect(r.split.test).toBe(6_400);
      expect(r.outcome_scale).toBeGreaterThan(100);
      for (const a of r.arms) {
        expect(Number.isFinite(a.recovered_ate)).toBe(true);
        expect(Number.isFinite(a.dim.estimate)).toBe(true);
        expect(a.dim.treated_n + a.dim.control_n).toBeGreaterThan(8_000);
        expect(a.consistent).toBe(true);
      }
      expect(r.notes.join(' ')).toMatch(/fractional-logit/);
      // The same data unzipped gives the same report, but for the file's name, size and hash.
      const plain = evaluateHillstrom(parseHillstromCsv(TEXT), { outcome: 'spend', seed: 3, bootstrap: 20, sample: 0.2 });
      expect(plain.arms).toEqual(r.arms);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`paydecide eval hillstrom` with a bad CSV exits 2 naming the line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hillstrom-'));
    try {
      const bad = path.join(dir, 'bad.csv');
      fs.writeFileSync(bad, head(5, (l) => (l[3] = l[3].replace('180.65', 'abc'))));
      const run = promisify(execFile);
      const err = await run(process.execPath, [path.join(ROOT, 'bin', 'paydecide.mjs'), 'eval', 'hillstrom', '--csv', bad], { cwd: ROOT, env: { ...process.env, PAYDECIDE_LOG_LEVEL: 'silent' } }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(2);
      expect(err?.stderr).toContain(`PD_ERR_INPUT_SCHEMA: ${bad} line 4: column "history" (field 3) is "abc"; expected a number`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
