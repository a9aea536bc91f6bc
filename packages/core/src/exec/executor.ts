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
      const params = ['channel', 'kwargs', 'require', '__filename', '__dirname', ...helperNames];
      let fn: (...a: unknown[]) => Promise<unknown>;
      try {
        fn = construct(AsyncFunction, [...params, source + sourceUrl]) as typeof fn;
      } catch (error) {
        throw explainSourceError(error, source, params, scope);
      }
      if (!looksLikePath(source)) return fn(channel, kwargs, scope.require, file, dir, ...helpers(construct));
      try {
        return await fn(channel, kwargs, scope.require, file, dir, ...helpers(construct));
      } catch (error) {
        throw explainSourceError(error, source, params, scope);
      }
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
      if (main === undefined && typeof exported === 'object' && exported !== null && !('default' in exported)) {
        const names = Object.keys(exported);
        const fns = names.filter((k) => typeof (exported as Record<string, unknown>)[k] === 'function');
        throw new TypeError(
          `the module ${filename} has no default export, so there is nothing to call as fn(channel, kwargs); ` +
            (names.length ? `it exports ${names.join(', ')}. ` : 'it has no exports. ') +
            `Export a default function${fns.length ? `, or call one of its functions with gw.call(url, ${JSON.stringify(fns[0])}, ...args)` : ''}`,
        );
      }
      return undefined;
    }
    default:
      throw new TypeError(`unknown remote execution kind ${JSON.stringify(kind)}`);
  }
}

/** A string that is one path-like token ('./job.ts', '/srv/job.mjs', 'lib/job.js'): meant as a file, not code. */
function looksLikePath(source: string): boolean {
  return /^\s*(?:\.{1,2}\/|\/|~\/)?[\w@.+\-/]*\.[cm]?[jt]sx?\s*$/.test(source);
}

/**
 * Adds to a string source's SyntaxError the line and column in the user's text (and the line with
 * a caret), from vm.compileFunction where the runtime has it; and, for a string that is a path,
 * the hint that a module is passed as a URL. Other errors pass unchanged.
 */
function explainSourceError(error: unknown, source: string, params: string[], scope: ExecutorScope): unknown {
  if (!(error instanceof Error) || (error.name !== 'SyntaxError' && error.name !== 'ReferenceError')) return error;
  const path = looksLikePath(source) ? source.trim() : null;
  let where = '';
  if (error.name === 'SyntaxError' && !path) {
    try {
      const vm = scope.require('node:vm') as typeof import('node:vm');
      vm.compileFunction(source, params, { filename: 'source' });
    } catch (e) {
      // The stack starts `source:LINE`, the line's text, then a caret under the column.
      const m = /^source:(\d+)\n(.*)\n( *)\^/.exec((e as Error).stack ?? '');
      if (m) {
        const line = Number(m[1]);
        const column = m[3]!.length + 1;
        const gutter = `${line} | `;
        where = ` (line ${line}, column ${column} of the source string)\n  ${gutter}${m[2]}\n  ${' '.repeat(gutter.length - 2)}| ${' '.repeat(column - 1)}^`;
      }
    }
  }
  if (!where && !path) return error;
  const relative = path && !/^[./~]/.test(path) ? `./${path}` : path;
  const hint = path ? ` (a string is source code, and '${path}' looks like a path: did you mean remoteExec(new URL('${relative}', import.meta.url))?)` : '';
  const explained = error.name === 'SyntaxError' ? new SyntaxError(`${error.message}${where}${hint}`) : new ReferenceError(`${error.message}${hint}`);
  if (error.stack) explained.stack = `${explained.name}: ${explained.message}\n${error.stack.split('\n').slice(1).join('\n')}`;
  return explained;
}
