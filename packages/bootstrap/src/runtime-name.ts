/** The runtime this process runs on: Bun and Deno set a `process.versions.node` too; their globals tell them apart. */
export const RUNTIME: 'bun' | 'deno' | 'node' = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';
