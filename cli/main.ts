/**
 * The `paydecide` command: thin wrappers over jobs/, models/ and core/ with progress, one-line
 * errors and exit codes (0 ok, 1 failure, 2 bad usage or input, 3 Redis unreachable).
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../core/config';
import { PaydecideError, errorMessage } from '../core/errors';
import { createLogger, type Logger } from '../core/logger';
import { registerAudiences } from './commands/audiences';
import { registerDataset } from './commands/dataset';
import { registerEval } from './commands/eval';
import { registerGen } from './commands/gen';
import { registerModels } from './commands/models';
import { registerNightly } from './commands/nightly';
import { registerReport } from './commands/report';
import { registerScores } from './commands/scores';
import { registerServe } from './commands/serve';
import { registerSink } from './commands/sink';
import { registerStatus } from './commands/status';
import { registerTrain } from './commands/train';
import { registerWorker } from './commands/worker';

export interface CliContext {
  config(): Config;
  logger(): Logger;
}

function context(): CliContext {
  let cfg: Config | undefined;
  let log: Logger | undefined;
  return {
    config: () => (cfg ??= loadConfig()),
    logger: () => (log ??= createLogger(process.env.PAYDECIDE_LOG_LEVEL ?? 'info')),
  };
}

const program = new Command();
program
  .name('paydecide')
  .description('Batch-first growth decisioning: synthetic world, nightly scoring, versioned Redis publish')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
const ctx = context();
registerGen(program, ctx);
registerNightly(program, ctx);
registerWorker(program, ctx);
registerTrain(program, ctx);
registerModels(program, ctx);
registerDataset(program, ctx);
registerStatus(program, ctx);
registerScores(program, ctx);
registerAudiences(program, ctx);
registerReport(program, ctx);
registerEval(program, ctx);
registerSink(program, ctx);
registerServe(program, ctx);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // commander already printed its message (help, version or a usage error).
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`paydecide: ${errorMessage(e)}\n`);
    if (process.env.PAYDECIDE_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = e instanceof PaydecideError ? e.exitCode : 1;
  }
}
// A finished command exits even if a library (BullMQ's blocking connections, ONNX Runtime's
// thread pool) still holds a handle; stdout/stderr are flushed first.
await new Promise<void>((r) => process.stdout.write('', () => process.stderr.write('', () => r())));
process.exit(process.exitCode ?? 0);
