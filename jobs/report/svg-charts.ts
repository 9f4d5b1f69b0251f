/**
 * Generic inline-SVG chart pieces for the self-contained HTML reports: scales, nice ticks, an x/y
 * frame with axes, paths, horizontal bars and an interval (whisker) chart. Pure string building,
 * nothing fetched, every text escaped. Every coordinate goes through `px`, which prints a
 * non-finite number as 0, so bad or degenerate data can draw a wrong mark but never `NaN` into an
 * attribute (which browsers reject, dropping the element silently).
 */
import { escapeHtml } from './cost-report-render';

export type Domain = [number, number];

/** A coordinate for an SVG attribute: two decimals at most, and 0 for anything non-finite. */
export function px(x: number): string {
  if (!Number.isFinite(x)) return '0';
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Linear map from `domain` to `range`; a flat or non-finite domain maps everything to the range's middle. */
export function linear(domain: Domain, range: Domain): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  if (!Number.isFinite(span) || span === 0) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/**
 * [min, max] of the finite values and `include` (say 0, so bars start at zero). Empty input gives
 * [0, 1]; a flat one is widened so that a scale over it is never a division by zero.
 */
export function extent(values: readonly number[], include: readonly number[] = []): Domain {
  const v = [...values, ...include].filter(Number.isFinite);
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (lo === hi) {
    if (lo === 0) return [0, 1];
    const d = Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  return [lo, hi];
}

/** A 1, 2 or 5 × 10ⁿ step giving about `count` intervals over `span`. */
export function niceStep(span: number, count = 5): number {
  if (!Number.isFinite(span) || span <= 0) return 1;
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

/** `d` widened outwards to whole steps, so the axis ends on a labelled tick. */
export function niceDomain(d: Domain, count = 5): Domain {
  const step = niceStep(d[1] - d[0], count);
  return [clean(Math.floor(d[0] / step) * step), clean(Math.ceil(d[1] / step) * step)];
}

/** Tick values on whole steps inside `d`. */
export function ticks(d: Domain, count = 5): number[] {
  const step = niceStep(d[1] - d[0], count);
  const out: number[] = [];
  for (let i = Math.ceil(d[0] / step - 1e-9); i * step <= d[1] + step * 1e-9 && out.length < 50; i++) out.push(clean(i * step));
  return out;
}

/** Drops float noise such as 0.30000000000000004. */
function clean(x: number): number {
  return Number(x.toPrecision(12));
}

/** An `<svg>` element sized in CSS by `svg.chart`, with an accessible title (inline in HTML, so no xmlns: the page names no URL at all). */
export function svg(width: number, height: number, title: string, body: string): string {
  const t = escapeHtml(title);
  return `<svg class="chart" viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" role="img" aria-label="${t}"><title>${t}</title>${body}</svg>`;
}

export function text(x: number, y: number, s: string, cls = '', anchor: 'start' | 'middle' | 'end' = 'start'): string {
  return `<text x="${px(x)}" y="${px(y)}"${anchor !== 'start' ? ` text-anchor="${anchor}"` : ''}${cls ? ` class="${cls}"` : ''}>${escapeHtml(s)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, cls: string): string {
  return `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" class="${cls}"/>`;
}

/** A rectangle from two corners in any order (negative bars need no special case); `tip` becomes a tooltip. */
export function rect(x1: number, y1: number, x2: number, y2: number, cls: string, tip?: string): string {
  const x = Math.min(x1, x2);
  const y = Math.min(y1, y2);
  const a = `x="${px(x)}" y="${px(y)}" width="${px(Math.abs(x2 - x1))}" height="${px(Math.abs(y2 - y1))}" class="${cls}"`;
  return tip ? `<rect ${a}><title>${escapeHtml(tip)}</title></rect>` : `<rect ${a}/>`;
}

export function circle(cx: number, cy: number, r: number, cls: string, tip?: string): string {
  const a = `cx="${px(cx)}" cy="${px(cy)}" r="${px(r)}" class="${cls}"`;
  return tip ? `<circle ${a}><title>${escapeHtml(tip)}</title></circle>` : `<circle ${a}/>`;
}

/** A polyline path through the points with finite coordinates; '' when fewer than two remain. */
export function path(points: readonly (readonly [number, number])[], cls: string): string {
  const p = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (p.length < 2) return '';
  return `<path d="${p.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x)} ${px(y)}`).join(' ')}" class="${cls}"/>`;
}

/** Coloured swatches with labels in a row; `cls` are the classes of the swatch marks. */
export function legend(items: readonly (readonly [label: string, cls: string])[], x: number, y: number, gap = 110): string {
  return items.map(([label, cls], i) => `${rect(x + i * gap, y, x + i * gap + 12, y + 12, cls)}${text(x + i * gap + 17, y + 10.5, label, 'lg')}`).join('');
}

export interface Axis {
  domain: Domain;
  label: string;
  format: (v: number) => string;
  /** About how many ticks; 5 unless told. */
  ticks?: number;
}

export interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  /** Plot area in SVG units. */
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** Grid, ticks, tick labels and axis titles, to draw beneath the marks. */
  axes: string;
}

/** An x/y plot area inside `width` × `height` with gridlines and labelled axes. */
export function xyFrame(width: number, height: number, xa: Axis, ya: Axis, margin = { top: 10, right: 18, bottom: 38, left: 50 }): Frame {
  const left = margin.left;
  const right = width - margin.right;
  const top = margin.top;
  const bottom = height - margin.bottom;
  const x = linear(xa.domain, [left, right]);
  const y = linear(ya.domain, [bottom, top]);
  const parts: string[] = [];
  for (const t of ticks(ya.domain, ya.ticks ?? 5)) parts.push(line(left, y(t), right, y(t), 'grid'), text(left - 5, y(t) + 4, ya.format(t), 'tk', 'end'));
  for (const t of ticks(xa.domain, xa.ticks ?? 5)) parts.push(line(x(t), top, x(t), bottom, 'grid'), text(x(t), bottom + 14, xa.format(t), 'tk', 'middle'));
  parts.push(rect(left, top, right, bottom, 'frame'));
  parts.push(text((left + right) / 2, height - 6, xa.label, 'ax', 'middle'));
  parts.push(`<text transform="translate(12 ${px((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" class="ax">${escapeHtml(ya.label)}</text>`);
  return { x, y, left, right, top, bottom, axes: parts.join('') };
}

export interface Bar {
  label: string;
  value: number;
  /** Text printed beside the bar (the formatted value). */
  valueLabel: string;
  /** Class of the bar's rectangle (its colour). */
  cls: string;
}

/**
 * Horizontal bars from a zero line, negatives to its left, one scale for all; a non-finite value
 * draws no bar and keeps its label.
 */
export function horizontalBars(bars: readonly Bar[], title: string, opts = { width: 760, labelWidth: 190, valueWidth: 110, rowHeight: 30 }): string {
  const { width, labelWidth, valueWidth, rowHeight } = opts;
  const top = 8;
  const d = extent(bars.map((b) => b.value), [0]);
  const x = linear(d, [labelWidth, width - valueWidth]);
  const x0 = x(0);
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowHeight;
      const ok = Number.isFinite(b.value);
      const end = ok ? x(b.value) : x0;
      const labelX = b.value < 0 ? Math.min(x0, end) : Math.max(x0, end);
      return `<g>${text(labelWidth - 8, y + rowHeight / 2 + 4, b.label, '', 'end')}${ok ? rect(x0, y + 5, end, y + rowHeight - 5, b.cls, `${b.label}: ${b.valueLabel}`) : ''}${text(labelX + (b.value < 0 ? -6 : 6), y + rowHeight / 2 + 4, b.valueLabel, 'v', b.value < 0 ? 'end' : 'start')}</g>`;
    })
    .join('');
  const h = top + bars.length * rowHeight + 8;
  return svg(width, h, title, `${rows}${line(x0, top, x0, h - 8, 'zero')}`);
}

export interface IntervalRow {
  label: string;
  estimate: number;
  lo: number;
  hi: number;
  /** Text printed at the right edge (estimate and interval, formatted). */
  valueLabel: string;
}

export interface RefLine {
  value: number;
  label: string;
  /** Class of the vertical line (colour, dashes). */
  cls: string;
}

/**
 * Point estimates with interval whiskers, one row each, on one horizontal scale, with vertical
 * reference lines (a true value, a baseline); non-finite parts are left out, never drawn at 0.
 */
export function intervalChart(rows: readonly IntervalRow[], refs: readonly RefLine[], title: string, format: (v: number) => string, opts = { width: 760, labelWidth: 90, valueWidth: 250, rowHeight: 34 }): string {
  const { width, labelWidth, valueWidth, rowHeight } = opts;
  const top = 26;
  const axisH = 22;
  const raw = extent([...rows.flatMap((r) => [r.estimate, r.lo, r.hi]), ...refs.map((r) => r.value)]);
  const pad = (raw[1] - raw[0]) * 0.05;
  const d = niceDomain([raw[0] - pad, raw[1] + pad], 4);
  const x = linear(d, [labelWidth, width - valueWidth]);
  const bottom = top + rows.length * rowHeight;
  const parts: string[] = [];
  for (const t of ticks(d, 4)) parts.push(line(x(t), top, x(t), bottom, 'grid'), text(x(t), bottom + 15, format(t), 'tk', 'middle'));
  rows.forEach((r, i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    parts.push(text(labelWidth - 8, y + 4, r.label, '', 'end'));
    if (Number.isFinite(r.lo) && Number.isFinite(r.hi)) {
      parts.push(line(x(r.lo), y, x(r.hi), y, 'whisker'), line(x(r.lo), y - 6, x(r.lo), y + 6, 'whisker'), line(x(r.hi), y - 6, x(r.hi), y + 6, 'whisker'));
    }
    if (Number.isFinite(r.estimate)) parts.push(circle(x(r.estimate), y, 5, 'est', `${r.label}: ${r.valueLabel}`));
    parts.push(text(width - valueWidth + 10, y + 4, r.valueLabel, 'v'));
  });
  const shown = refs.filter((r) => Number.isFinite(r.value));
  for (const r of shown) parts.push(`<g>${line(x(r.value), top - 4, x(r.value), bottom, r.cls)}<title>${escapeHtml(`${r.label}: ${format(r.value)}`)}</title></g>`);
  const head = legend([['estimate and 95% CI', 'est'], ...shown.map((r) => [r.label, `sw ${r.cls}`] as const)], labelWidth, 4, 190);
  return svg(width, bottom + axisH, title, `${head}${parts.join('')}`);
}
