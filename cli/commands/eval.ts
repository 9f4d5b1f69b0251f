/**
 * `paydecide eval hillstrom`: our uplift learner on the Hillstrom e-mail experiment, a public
 * randomised trial (data/hillstrom/README.md). The I/O only: flags, the HTML file and stdout; the
 * evaluation and its rendering live in jobs/eval.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { ErrorCodes, PaydecideError } from '../../core/errors';
import { runHillstrom, type HillstromOutcome } from '../../jobs/eval/hillstrom';
import { renderHillstromHtml, renderHillstromText } from '../../jobs/eval/hillstrom-render';
import type { CliContext } from '../main';

/** The copy shipped in the repo, resolved from this file so the command works from any directory. */
export const DEFAULT_HILLSTROM_CSV = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'hillstrom', 'hillstrom.csv');

function intFlag(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new PaydecideError(ErrorCodes.BAD_FLAG, `${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function registerEval(program: Command, ctx: CliContext): void {
  const ev = program.command('eval').description('checks of the models on public data');
  ev.command('hillstrom')
    .description('T-learner ATEs and targeting quality on the Hillstrom e-mail experiment (64,000 customers randomised to two e-mails or none)')
    .option('--csv <file>', 'the Hillstrom CSV (or .csv.gz)', DEFAULT_HILLSTROM_CSV)
    .addOption(new Option('--outcome <name>', 'outcome to model').choices(['visit', 'conversion', 'spend']).default('visit'))
    .option('--seed <n>', 'seed of the split, the trees and the bootstrap', intFlag('--seed', 0), 1)
    .option('--bootstrap <n>', 'bootstrap replicates for the Qini and AUUC intervals', intFlag('--bootstrap', 1), 200)
    .option('--json', 'print the report as JSON')
    .option('--html <file>', 'also write a self-contained HTML report to this file')
    .action((o: { csv: string; outcome: HillstromOutcome; seed: number; bootstrap: number; json?: boolean; html?: string }) => {
      const r = runHillstrom({ csv: o.csv, outcome: o.outcome, seed: o.seed, bootstrap: o.bootstrap, logger: ctx.logger() });
      let htmlFile: string | undefined;
      if (o.html !== undefined) {
        htmlFile = path.resolve(o.html);
        fs.mkdirSync(path.dirname(htmlFile), { recursive: true });
        fs.writeFileSync(htmlFile, renderHillstromHtml(r));
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        // stdout stays one JSON document; where the HTML went is for the person at the terminal.
        if (htmlFile) process.stderr.write(`wrote HTML report to ${htmlFile}\n`);
        return;
      }
      process.stdout.write(renderHillstromText(r));
      if (htmlFile) process.stdout.write(`wrote HTML report to ${htmlFile}\n`);
    });
}
