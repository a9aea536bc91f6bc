import { type Node, parse } from 'acorn';
import { analyze } from 'eslint-scope';
import { SourceError } from '../errors.js';
import type { ExecRequest } from './executor.js';

export type { ExecRequest };

/**
 * The host side of remote execution: a function or string of source becomes an ExecRequest,
 * checked here (acorn, eslint-scope) so a function that cannot run remotely fails before anything
 * is sent. Host only: the remote side never loads this module (see exec/executor.ts).
 */

/** Names every remote execution scope provides besides the runtime's globals. */
const EXEC_SCOPE_NAMES = [
  'channel',
  'kwargs',
  'require',
  'module',
  'exports',
  '__filename',
  '__dirname',
  // helpers that compilers inject into functions: esbuild/tsx keepNames, vitest's import() rewrite
  '__name',
  '__vite_ssr_dynamic_import__',
] as const;

/**
 * Names a pure function run by call() or map() may use besides the runtime's globals: what the
 * remote scope provides, minus `channel` and `kwargs`, which belong to the wrapper, not to it.
 */
export const PURE_SCOPE_NAMES: readonly string[] = EXEC_SCOPE_NAMES.filter((n) => n !== 'channel' && n !== 'kwargs' && n !== 'module' && n !== 'exports');

export interface ParsedFunction {
  /** An expression that evaluates to the function. */
  expression: string;
  name: string;
}

/**
 * Turns a function into source that can be evaluated remotely, refusing (before anything is sent)
 * one that uses names from its enclosing scope: they would not exist over there.
 */
export function functionSource(
  fn: (...args: never[]) => unknown,
  remoteGlobals: ReadonlySet<string>,
  /** Who asks, for messages (`remoteExec()`, `call()`, `map()`). */
  api = 'remoteExec()',
  /** Names the remote scope gives the function besides its globals (default: the exec scope). */
  scopeNames: readonly string[] = EXEC_SCOPE_NAMES,
): ParsedFunction {
  const name = fn.name || 'anonymous';
  let text: string;
  try {
    text = Function.prototype.toString.call(fn);
  } catch (error) {
    throw new SourceError(`${api}: cannot read the source of function ${name}`, { cause: error });
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    throw new SourceError(
      `${api}: function ${name} has no JavaScript source (native or bound functions cannot be shipped); pass a plain function, a string of source or a module URL`,
    );
  }
  const candidates = [`(${text})`, `({ ${text} })`];
  let lastError: unknown;
  for (const [i, candidate] of candidates.entries()) {
    let ast: Node;
    try {
      ast = parse(candidate, { ecmaVersion: 'latest', sourceType: 'script', ranges: true });
    } catch (error) {
      lastError = error;
      continue;
    }
    const free = freeVariables(ast, remoteGlobals, scopeNames);
    if (free.length > 0) {
      throw new SourceError(
        `${api}: function ${name} uses ${free.length === 1 ? 'a name' : 'names'} from its enclosing scope: ${free.join(', ')}. ` +
          (api === 'remoteExec()'
            ? 'Remote code sees only its own globals; pass values in kwargs (remoteExec(fn, { ... }) → fn(channel, kwargs)) and import modules inside the function.'
            : `Remote code sees only its own globals; pass values as arguments (${api.replace('()', '(fn, ...args)')}) and import modules inside the function.`),
        { freeVariables: free },
      );
    }
    // A method (`foo(channel) {…}`) is evaluated as a property of an object literal.
    const methodKey = i === 1 ? methodName(ast) : undefined;
    const expression = i === 0 ? candidate : `(${candidate})[${JSON.stringify(methodKey ?? name)}]`;
    return { expression, name };
  }
  throw new SourceError(`${api}: the source of function ${name} does not parse: ${(lastError as Error)?.message}`, { cause: lastError });
}

function methodName(ast: Node): string | undefined {
  // Program > ExpressionStatement > ObjectExpression > Property
  const body = (ast as unknown as { body: Array<{ expression: { properties?: Array<{ key: { name?: string; value?: unknown } }> } }> }).body;
  const key = body[0]?.expression.properties?.[0]?.key;
  return key?.name ?? (key?.value !== undefined ? String(key.value) : undefined);
}

/** Free variables of a parsed program, minus the remote globals and the exec scope names. */
export function freeVariables(ast: Node, remoteGlobals: ReadonlySet<string>, scopeNames: readonly string[] = EXEC_SCOPE_NAMES): string[] {
  const scopeManager = analyze(ast as never, { ecmaVersion: 2022 as never, sourceType: 'script' });
  const global = scopeManager.globalScope;
  const names = new Set<string>();
  for (const ref of global?.through ?? []) {
    const n = ref.identifier.name;
    if (remoteGlobals.has(n) || scopeNames.includes(n)) continue;
    names.add(n);
  }
  return [...names].sort();
}

let execCounter = 0;

/**
 * The request for a string of source (the body of an async function with `channel`, `kwargs` and
 * `require` in scope) or a self-contained function; a SourceError for anything else (module URLs
 * are bundled first, see bundle-module.ts).
 */
export function execRequest(source: unknown, kwargs: unknown, remoteGlobals: ReadonlySet<string>): ExecRequest {
  const n = ++execCounter;
  if (typeof source === 'string') {
    // As code, a lone file: URL is a label and a comment: it would run, do nothing and close.
    if (/^\s*file:\/\/\S*\s*$/.test(source)) {
      throw new SourceError(
        `remoteExec(${JSON.stringify(source.trim())}): a string is source code, and this one is a file: URL that would do nothing as code; pass a URL object to run the module: remoteExec(new URL(${JSON.stringify(source.trim())}))`,
      );
    }
    return { kind: 'source', source, filename: `tsnet-exec-${n}.js`, kwargs };
  }
  if (typeof source === 'function') {
    const fn = functionSource(source as (...a: never[]) => unknown, remoteGlobals);
    return { kind: 'function', source: fn.expression, filename: `tsnet-fn-${fn.name}-${n}.js`, kwargs };
  }
  throw new SourceError(`remoteExec() takes a string of source, a function or a module URL, got ${describeType(source)}`);
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
