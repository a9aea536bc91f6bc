/**
 * `@tsnet/test`: node:test suites run across tsnet gateways (hosts, runtimes) and reported here
 * with node:test's own reporters. `runTests()` is the library; `tsnetCommand` is `tsnet test`,
 * loaded by @tsnet/cli's plugin hook.
 */
import { type CommandContext, runCommand } from './command.js';

export { type CommandContext, USAGE } from './command.js';
export { TestRunError } from './errors.js';
export type { TestEvent } from './events.js';
export { DEFAULT_PATTERNS, findTestFiles } from './find-files.js';
export type { ReporterSpec } from './reporters.js';
export { type RunTestsOptions, type RunTestsResult, runTests } from './run-tests.js';
export type { SyncReport } from './sync-project.js';

/** What @tsnet/cli calls for `tsnet test …`. */
export const tsnetCommand = {
  run: (argv: string[], context: CommandContext): Promise<number> => runCommand(argv, context),
};
