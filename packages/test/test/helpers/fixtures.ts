import { fileURLToPath } from 'node:url';

export const PROJECT = fileURLToPath(new URL('../fixtures/project/', import.meta.url));
export const CRASHES = fileURLToPath(new URL('../fixtures/crashes/', import.meta.url));
/** The `tsnet` command of @tsnet/cli (built), which loads this package for `tsnet test`. */
export const TSNET = fileURLToPath(new URL('../../../cli/bin/tsnet.js', import.meta.url));
