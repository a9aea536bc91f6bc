/**
 * gw.call(): one pure function (or a module's function export) run remotely with arguments.
 *
 * - A function is checked like remoteExec(fn) (it may use only the remote's globals, `require`,
 *   and what it imports itself) and its arguments are serialized before anything is sent: a
 *   SourceError or DumpError rejects the call and nothing runs remotely.
 * - The result is the function's return value (awaited), carried by the serializer; a value it
 *   cannot carry rejects with a RemoteError whose remoteName is DumpError.
 * - A throw (or rejection) remotely rejects with that RemoteError; the gateway going down rejects
 *   with GatewayClosedError. The call's channel is closed in every case.
 */
import type { Channel } from '../channel/channel.js';
import { SourceError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { functionSource, PURE_SCOPE_NAMES } from './remote-source.js';

// biome-ignore lint/suspicious/noExplicitAny: the widest function type: parameters are checked by the call's own signature
export type AnyFunction = (...args: any[]) => unknown;

/** The remote source of a call: evaluates the function, applies it to kwargs (the arguments), sends the result. */
export function callSource(gateway: Gateway, fn: AnyFunction, api: string): string {
  const { expression } = functionSource(fn as (...a: never[]) => unknown, gateway._remoteGlobals, api, PURE_SCOPE_NAMES);
  return `const __tsnet_fn = ${expression};\nawait channel.send(await __tsnet_fn(...kwargs));`;
}

export async function callFunction(gateway: Gateway, fn: AnyFunction, args: unknown[]): Promise<unknown> {
  if (typeof fn !== 'function') {
    throw new SourceError(`call() takes a function or a module URL and an export name, got ${fn === null ? 'null' : typeof fn}`);
  }
  const ch = gateway.remoteExec(callSource(gateway, fn, 'call()'), args);
  return resultOf(ch);
}

export async function callModule(gateway: Gateway, url: URL, name: unknown, args: unknown[]): Promise<unknown> {
  if (typeof name !== 'string') {
    throw new SourceError(
      `call(url, name, ...args): the second argument names the module's export to call ('default' for the default export), got ${typeof name}`,
    );
  }
  gateway._checkOpen();
  // DumpError for bad arguments before the module is bundled.
  gateway._dump(args);
  const ch = gateway._execBundled(
    url,
    args,
    async () => {
      const { bundleModule } = await import('./bundle-module.js');
      return bundleModule(url, undefined, { callExport: name });
    },
    'call()',
  );
  return resultOf(ch);
}

async function resultOf(ch: Channel): Promise<unknown> {
  try {
    return await ch.receive();
  } finally {
    // The remote closes after its one item; closing here too frees the channel at once either way.
    void ch.close().catch(() => {});
  }
}
