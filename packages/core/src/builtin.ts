import { createRequire } from 'node:module';

// Any absolute path will do: only builtins are loaded through it.
const load = createRequire('/');

/**
 * A Node builtin, loaded on first use. Code that the remote side carries but seldom runs (streams
 * for `makeFile`, `net` for fallbacks) loads its modules this way: a fresh Node pays about 2.7 ms of
 * CPU for `node:stream` and 4.5 ms for `node:net`, at every start, when they are imported at the top.
 */
export function builtin<T>(name: `node:${string}`): T {
  return load(name) as T;
}
