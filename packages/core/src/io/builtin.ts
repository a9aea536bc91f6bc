import { createRequire } from 'node:module';

let load: ((name: string) => unknown) | undefined;

/**
 * A Node builtin, loaded on first use. Code that the remote side carries but seldom runs (streams
 * for `makeFile`, `net` for fallbacks) loads its modules this way: a fresh Node pays about 2.7 ms of
 * CPU for `node:stream` and 4.5 ms for `node:net`, at every start, when they are imported at the top.
 */
export function builtin<T>(name: `node:${string}`): T {
  // process.getBuiltinModule (Node 20.16+) needs no require; any absolute path serves createRequire.
  const p = process as { getBuiltinModule?: (name: string) => unknown };
  load ??= typeof p.getBuiltinModule === 'function' ? p.getBuiltinModule.bind(process) : createRequire('/');
  return load(name) as T;
}
