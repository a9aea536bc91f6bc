import { SpecError } from '../errors.js';
import type { TransportProvider } from './transport-types.js';

/** Which package provides each gateway type. */
export const TRANSPORT_PACKAGES: Record<string, string> = {
  popen: '@tsnet/transport-popen',
  ssh: '@tsnet/transport-ssh',
  socket: '@tsnet/transport-socket',
  ws: '@tsnet/transport-socket',
};

const registered = new Map<string, TransportProvider>();

/** Makes a transport available for its spec type without a package lookup (tests, custom transports). */
export function registerTransport(provider: TransportProvider, type = provider.type): void {
  registered.set(type, provider);
}

/** Finds the provider for a gateway type: registered ones first, then the package named by the type. */
export async function findTransport(type: string, specText: string): Promise<TransportProvider> {
  const known = registered.get(type);
  if (known) return known;
  const pkg = TRANSPORT_PACKAGES[type];
  if (!pkg) {
    throw new SpecError(
      `gateway spec ${JSON.stringify(specText)}: no transport provides the type "${type}". Known types: ${Object.keys(TRANSPORT_PACKAGES).join(', ')}; ` +
        `a custom one is registered with registerTransport() (it would be @tsnet/transport-${type}).`,
    );
  }
  let mod: { transports?: TransportProvider[]; default?: unknown };
  try {
    mod = (await import(pkg)) as typeof mod;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new SpecError(`gateway spec ${JSON.stringify(specText)} needs the package ${pkg}, which is not installed: npm install ${pkg}`, { cause: error });
    }
    throw new SpecError(`gateway spec ${JSON.stringify(specText)}: loading ${pkg} failed: ${(error as Error).message}`, { cause: error });
  }
  for (const p of mod.transports ?? []) if (!registered.has(p.type)) registered.set(p.type, p);
  const provider = registered.get(type);
  if (!provider) throw new SpecError(`${pkg} is installed but provides no transport for "${type}" (version mismatch with @tsnet/core?)`);
  return provider;
}
