/**
 * @tsnet/cli: the `tsnet` command (bin/tsnet.js runs main()). Exported for subcommand packages
 * such as @tsnet/test, which export a `tsnetCommand` (see plugins.ts) and get a Context.
 */
export { UsageError } from './args.js';
export type { Context, Helpers } from './context.js';
export { type Gateways, type OpenOptions, openGroup } from './gateways.js';
export { main, USAGE, version } from './main.js';
export type { TsnetCommand } from './plugins.js';
