import type { Channel } from '../channel/channel.js';

/** What travels in the first item of an EXEC channel. */
export interface ExecRequest {
  kind: 'source' | 'function' | 'module';
  source: string;
  /** Shown in remote stack traces. */
  filename: string;
  kwargs: unknown;
}

const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...args: unknown[]) => Promise<unknown>;

/** esbuild's keepNames helper, which functions compiled by esbuild/tsx/vitest may call. */
const __name = <F>(fn: F, _name?: string): F => fn;
const helperNames = ['__name', '__vite_ssr_dynamic_import__'];

export type Construct = (ctor: new (...args: string[]) => unknown, args: string[]) => unknown;
const plainConstruct: Construct = (ctor, args) => new ctor(...args);

export interface ExecutorScope {
  /** `require` resolving from the remote working directory. */
  require: (id: string) => unknown;
  cwd: string;
  /**
   * Compiles remote code (`new Function`/`new AsyncFunction`). `import()` in code made by
   * `new Function` resolves like the script that called the constructor, so the platform passes
   * one defined where dynamic import works (the first stage: the bundle itself is compiled by
   * vm.Script for its code cache, and vm scripts have no import() of their own).
   */
  construct?: Construct;
}

const helpersFor = new WeakMap<Construct, unknown[]>();
function helpers(construct: Construct): unknown[] {
  let h = helpersFor.get(construct);
  if (!h) {
    // A real dynamic import (a bundler would turn a literal `import()` into require()).
    const dynamicImport = construct(Function, ['id', 'return import(id)']);
    h = [__name, dynamicImport];
    helpersFor.set(construct, h);
  }
  return h;
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
  const construct = scope.construct ?? plainConstruct;
  switch (kind) {
    case 'source': {
      const fn = construct(AsyncFunction, ['channel', 'kwargs', 'require', '__filename', '__dirname', ...helperNames, source + sourceUrl]) as (
        ...a: unknown[]
      ) => Promise<unknown>;
      return fn(channel, kwargs, scope.require, file, dir, ...helpers(construct));
    }
    case 'function': {
      const make = construct(Function, ['require', '__filename', '__dirname', ...helperNames, `return ${source}${sourceUrl}`]) as (...a: unknown[]) => unknown;
      const fn = make(scope.require, file, dir, ...helpers(construct)) as (ch: Channel, kw: unknown) => unknown;
      return fn(channel, kwargs);
    }
    case 'module': {
      const module = { exports: {} as Record<string, unknown> };
      const run = construct(Function, ['channel', 'kwargs', 'require', 'module', 'exports', '__filename', '__dirname', source + sourceUrl]) as (
        ...a: unknown[]
      ) => unknown;
      run(channel, kwargs, scope.require, module, module.exports, file, dir);
      const exported = module.exports as { default?: unknown } | ((...a: unknown[]) => unknown);
      const main = typeof exported === 'function' ? exported : exported.default;
      if (typeof main === 'function') return (main as (ch: Channel, kw: unknown) => unknown)(channel, kwargs);
      // Named exports only: say which (the caller may have meant gw.call(url, name, …args)).
      if (main === undefined && typeof exported === 'object' && !('default' in exported)) {
        throw new TypeError(
          `the module ${filename} has no default export to call as fn(channel, kwargs); it exports: ${Object.keys(exported).join(', ') || 'nothing'}`,
        );
      }
      return undefined;
    }
    default:
      throw new TypeError(`unknown remote execution kind ${JSON.stringify(kind)}`);
  }
}
