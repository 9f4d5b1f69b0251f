/** One pino logger per process, JSON lines to stderr (stdout is for command output). */
import pino, { type Logger } from 'pino';
export type { Logger };
export function createLogger(level: string, name = 'paydecide'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
