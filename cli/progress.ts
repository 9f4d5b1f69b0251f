/**
 * Progress of long stages: a bar with rows, rate and ETA on a TTY; structured log lines
 * (at most one every 2 s, plus the last) otherwise.
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../core/logger';

export interface Progress {
  update(done: number, total: number, rows: number): void;
  stop(): void;
}

export function createProgress(label: string, unit: string, log: Logger, tty = process.stderr.isTTY === true): Progress {
  const t0 = performance.now();
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} |{bar}| {percentage}% {value}/{total} ${unit} | {rows} rows | {rate} rows/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, rows) {
        const rate = Math.round(rows / Math.max(1e-3, (performance.now() - t0) / 1000));
        if (!started) {
          bar.start(total, done, { rows, rate });
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, { rows, rate });
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let lastArgs: [number, number, number] | undefined;
  const emit = (done: number, total: number, rows: number) => {
    const s = (performance.now() - t0) / 1000;
    const rate = rows / Math.max(1e-3, s);
    const eta = done > 0 ? (s / done) * (total - done) : null;
    log.info({ stage: label, done, total, unit, rows, rows_per_s: Math.round(rate), eta_s: eta === null ? null : Math.round(eta) }, 'progress');
  };
  return {
    update(done, total, rows) {
      lastArgs = [done, total, rows];
      const now = performance.now();
      if (now - last >= 2000 || done === total) {
        last = now;
        emit(done, total, rows);
        lastArgs = undefined;
      }
    },
    stop() {
      if (lastArgs) emit(...lastArgs);
    },
  };
}
