import type { Channel } from './channel.js';
import type { ExecRequest } from './remote-source.js';

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<unknown>;

/** esbuild's keepNames helper, which functions compiled by esbuild/tsx/vitest may call. */
const __name = <F>(fn: F, _name?: string): F => fn;
/** A real dynamic import (a bundler would turn a literal `import()` into require()). */
const dynamicImport = new Function('id', 'return import(id)') as (id: string) => Promise<unknown>;
const helperNames = ['__name', '__vite_ssr_dynamic_import__'];
const helpers = [__name, dynamicImport];

export interface ExecutorScope {
  /** `require` resolving from the remote working directory. */
  require: (id: string) => unknown;
  cwd: string;
}

/**
 * Runs an ExecRequest on the remote side. String sources are async function bodies (top-level
 * `await` works); functions are evaluated and called as fn(channel, kwargs); modules are CommonJS
 * bundles whose default export, if a function, is called as fn(channel, kwargs).
 */
export async function execute(channel: Channel, request: ExecRequest, scope: ExecutorScope): Promise<unknown> {
  const { kind, source, filename, kwargs } = request;
  const file = `${scope.cwd.replace(/\/$/, '')}/${filename.replace(/^.*[\\/]/, '')}`;
  const dir = scope.cwd;
  const sourceUrl = `\n//# sourceURL=${filename}`;
  switch (kind) {
    case 'source': {
      const fn = new AsyncFunction('channel', 'kwargs', 'require', '__filename', '__dirname', ...helperNames, source + sourceUrl);
      return fn(channel, kwargs, scope.require, file, dir, ...helpers);
    }
    case 'function': {
      const make = new Function('require', '__filename', '__dirname', ...helperNames, `return ${source}${sourceUrl}`);
      const fn = make(scope.require, file, dir, ...helpers) as (ch: Channel, kw: unknown) => unknown;
      return fn(channel, kwargs);
    }
    case 'module': {
      const module = { exports: {} as Record<string, unknown> };
      const run = new Function('channel', 'kwargs', 'require', 'module', 'exports', '__filename', '__dirname', source + sourceUrl);
      run(channel, kwargs, scope.require, module, module.exports, file, dir);
      const exported = module.exports as { default?: unknown } | ((...a: unknown[]) => unknown);
      const main = typeof exported === 'function' ? exported : exported.default;
      if (typeof main === 'function') return (main as (ch: Channel, kw: unknown) => unknown)(channel, kwargs);
      return undefined;
    }
    default:
      throw new TypeError(`unknown remote execution kind ${JSON.stringify(kind)}`);
  }
}
