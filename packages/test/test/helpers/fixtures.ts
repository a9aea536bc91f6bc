import { fileURLToPath } from 'node:url';

export const PROJECT = fileURLToPath(new URL('../fixtures/project/', import.meta.url));
export const CRASHES = fileURLToPath(new URL('../fixtures/crashes/', import.meta.url));
export const CLI = fileURLToPath(new URL('./cli.mjs', import.meta.url));
