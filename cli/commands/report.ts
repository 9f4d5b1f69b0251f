/**
 * `paydecide report cost`: what the last nightly run cost per million batch scores, by stage,
 * against the brief's budgets. The I/O only: the lastrun from Redis, the online benchmark's result
 * file if there is one, and the HTML file; the model and rendering live in jobs/report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { closeRedis, connectRedis } from '../../core/redis';
import { computeCostReport, parseLastRun, parseOnlineResult, type OnlineResult } from '../../jobs/report/cost-report';
import { renderCostHtml, renderCostText } from '../../jobs/report/cost-report-render';
import { computeEvalReport } from '../../jobs/report/eval-report';
import { renderEvalHtml, renderEvalText } from '../../jobs/report/eval-report-render';
import { resolveWorldDir } from '../../jobs/world';
import { loadCurrent, loadModel } from '../../models/registry';
import { dateFlag, intFlag } from '../flags';
import { lastRunRef } from '../last-run';
import type { CliContext } from '../main';

/** The online benchmark's result, or null when it has not run (the report then says so). */
function readOnlineResult(file: string): OnlineResult | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseOnlineResult(text, file);
}

export function registerReport(program: Command, ctx: CliContext): void {
  const report = program.command('report').description('reports on the last nightly run and the live models');
  report
    .command('cost')
    .description('cost per million batch scores by stage of the last nightly run, against the budget')
    .option('--html <file>', 'also write a self-contained HTML report to this file')
    .option('--json', 'print as JSON')
    .action(async (o: { html?: string; json?: boolean }) => {
      const cfg = ctx.config();
      const key = `${cfg.prefix}:lastrun`;
      const redis = await connectRedis(cfg.redisUrl, { connectionName: 'paydecide-report' });
      let raw: string | null;
      try {
        raw = await redis.get(key);
      } finally {
        await closeRedis(redis);
      }
      const run = parseLastRun(raw, `Redis key ${key}`);
      const online = readOnlineResult(path.join(cfg.home, 'bench', 'online-result.json'));
      const r = computeCostReport(run, cfg.prices, cfg.keepVersions, online);

      let htmlFile: string | undefined;
      if (o.html !== undefined) {
        htmlFile = path.resolve(o.html);
        fs.mkdirSync(path.dirname(htmlFile), { recursive: true });
        fs.writeFileSync(htmlFile, renderCostHtml(r));
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        // stdout stays one JSON document; where the HTML went is for the person at the terminal.
        if (htmlFile) process.stderr.write(`wrote HTML report to ${htmlFile}\n`);
        return;
      }
      process.stdout.write(renderCostText(r));
      if (htmlFile) process.stdout.write(`wrote HTML report to ${htmlFile}\n`);
    });

  report
    .command('eval')
    .description('evaluate the growth models on the held-out test split: AUC, ECE, Qini/AUUC, true vs estimated uplift and policy value, off-policy value (IPS, SNIPS, DR) with bootstrap CIs')
    .option('--data <dir|s3://bucket/prefix>', "world folder (default: the last nightly's)")
    .option('--date <YYYY-MM-DD>', "as-of date (default: the model's training as-of date)", dateFlag('--date'))
    .option('--model <version>', 'registry version to evaluate (default: the current one)')
    .option('--bootstrap <reps>', 'bootstrap replicates of the OPE CIs', intFlag('--bootstrap', 50, 5000), 500)
    .option('--html <file>', 'also write a self-contained HTML report (charts) to this file')
    .option('--json', 'print as JSON')
    .action(async (o: { data?: string; date?: string; model?: string; bootstrap: number; html?: string; json?: boolean }) => {
      const cfg = ctx.config();
      const log = ctx.logger();
      const model = o.model ? await loadModel(cfg.modelsDir, o.model) : await loadCurrent(cfg.modelsDir);
      const data = o.data ?? (await lastRunRef(cfg, 'the world')).data;
      const asOf = o.date ?? model.manifest.training.as_of;
      const windows = { ...cfg.attributionWindows, ...model.manifest.training.label_windows_s };
      const r = await computeEvalReport({ dataDir: await resolveWorldDir(cfg, data, log), asOf, model, windows, duck: { threads: cfg.duckdbThreads, memory: cfg.duckdbMemory }, ortThreads: cfg.ortThreads, logger: log, bootstrap: o.bootstrap });
      let htmlFile: string | undefined;
      if (o.html !== undefined) {
        htmlFile = path.resolve(o.html);
        fs.mkdirSync(path.dirname(htmlFile), { recursive: true });
        fs.writeFileSync(htmlFile, renderEvalHtml(r));
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        if (htmlFile) process.stderr.write(`wrote HTML report to ${htmlFile}\n`);
        return;
      }
      process.stdout.write(renderEvalText(r));
      if (htmlFile) process.stdout.write(`wrote HTML report to ${htmlFile}\n`);
    });
}
