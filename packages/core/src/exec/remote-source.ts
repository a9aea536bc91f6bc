import { type Node, parse } from 'acorn';
import { analyze } from 'eslint-scope';
import { SourceError } from '../errors.js';

/** Names every remote execution scope provides besides the runtime's globals. */
export const EXEC_SCOPE_NAMES = [
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

/** What travels in the first item of an EXEC channel. */
export interface ExecRequest {
  kind: 'source' | 'function' | 'module';
  source: string;
  /** Shown in remote stack traces. */
  filename: string;
  kwargs: unknown;
}

export interface ParsedFunction {
  /** An expression that evaluates to the function. */
  expression: string;
  name: string;
}

/**
 * Turns a function into source that can be evaluated remotely, refusing (before anything is sent)
 * one that uses names from its enclosing scope: they would not exist over there.
 */
export function functionSource(fn: (...args: never[]) => unknown, remoteGlobals: ReadonlySet<string>): ParsedFunction {
  const name = fn.name || 'anonymous';
  let text: string;
  try {
    text = Function.prototype.toString.call(fn);
  } catch (error) {
    throw new SourceError(`remoteExec(): cannot read the source of function ${name}`, { cause: error });
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    throw new SourceError(
      `remoteExec(): function ${name} has no JavaScript source (native or bound functions cannot be shipped); pass a plain function, a string of source or a module URL`,
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
    const free = freeVariables(ast, remoteGlobals);
    if (free.length > 0) {
      throw new SourceError(
        `remoteExec(): function ${name} uses ${free.length === 1 ? 'a name' : 'names'} from its enclosing scope: ${free.join(', ')}. ` +
          'Remote code sees only its own globals; pass values in kwargs (remoteExec(fn, { ... }) → fn(channel, kwargs)) and import modules inside the function.',
        { freeVariables: free },
      );
    }
    // A method (`foo(channel) {…}`) is evaluated as a property of an object literal.
    const methodKey = i === 1 ? methodName(ast) : undefined;
    const expression = i === 0 ? candidate : `(${candidate})[${JSON.stringify(methodKey ?? name)}]`;
    return { expression, name };
  }
  throw new SourceError(`remoteExec(): the source of function ${name} does not parse: ${(lastError as Error)?.message}`, { cause: lastError });
}

function methodName(ast: Node): string | undefined {
  // Program > ExpressionStatement > ObjectExpression > Property
  const body = (ast as unknown as { body: Array<{ expression: { properties?: Array<{ key: { name?: string; value?: unknown } }> } }> }).body;
  const key = body[0]?.expression.properties?.[0]?.key;
  return key?.name ?? (key?.value !== undefined ? String(key.value) : undefined);
}

/** Free variables of a parsed program, minus the remote globals and the exec scope names. */
export function freeVariables(ast: Node, remoteGlobals: ReadonlySet<string>): string[] {
  const scopeManager = analyze(ast as never, { ecmaVersion: 2022 as never, sourceType: 'script' });
  const global = scopeManager.globalScope;
  const names = new Set<string>();
  for (const ref of global?.through ?? []) {
    const n = ref.identifier.name;
    if (remoteGlobals.has(n) || (EXEC_SCOPE_NAMES as readonly string[]).includes(n)) continue;
    names.add(n);
  }
  return [...names].sort();
}
