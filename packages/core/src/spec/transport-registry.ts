import { SpecError } from '../errors.js';
import type { TransportProvider } from './transport-types.js';
import type { XSpec } from './xspec.js';

/**
 * The one place core names its transports: each known package, the gateway types it provides,
 * and the spec keys it reads (so that XSpec does not take them for a type). A new transport
 * package adds one row here; a custom transport needs no row at all (registerTransport()).
 */
export const KNOWN_TRANSPORTS: readonly { readonly package: string; readonly types: readonly string[]; readonly keys: readonly string[] }[] = [
  { package: '@tsnet/transport-popen', types: ['popen'], keys: ['node', 'runtime', 'exe', 'chdir', 'nice'] },
  {
    package: '@tsnet/transport-ssh',
    types: ['ssh'],
    keys: ['node', 'runtime', 'exe', 'chdir', 'nice', 'hostkey', 'identity', 'keepalive', 'compress', 'ssh-config'],
  },
  {
    package: '@tsnet/transport-socket',
    types: ['socket', 'ws'],
    keys: ['token', 'token-file', 'token-env', 'tls', 'tls-fingerprint', 'tls-ca', 'proxy'],
  },
  {
    package: '@tsnet/transport-cmd',
    types: ['sudo', 'docker', 'podman', 'kubectl', 'chroot', 'netns', 'cmd'],
    keys: [
      'node',
      'chdir',
      'runtime',
      'exe',
      'user',
      'namespace',
      'container',
      'context',
      'password-env',
      'docker-bin',
      'podman-bin',
      'kubectl-bin',
      'sudo-bin',
      'chroot-bin',
      'ip-bin',
    ],
  },
];

/** Keys core itself reads, whatever the transport. */
const CORE_KEYS = ['id', 'via'];

/** Gateway types a spec may start with (the first key that is one of these decides). */
export const GATEWAY_TYPES: readonly string[] = KNOWN_TRANSPORTS.flatMap((t) => t.types);

/**
 * Keys that configure a gateway rather than name its type. A spec without a known type takes its
 * first other key as the type, so `docker=x` asks for @tsnet/transport-docker instead of failing here.
 */
export const OPTION_KEYS: ReadonlySet<string> = new Set([...CORE_KEYS, ...KNOWN_TRANSPORTS.flatMap((t) => t.keys)]);

const TRANSPORT_PACKAGES = new Map(KNOWN_TRANSPORTS.flatMap((t) => t.types.map((type) => [type, t.package] as const)));

const registered = new Map<string, TransportProvider>();

/** Makes a transport available for its spec type without a package lookup (tests, custom transports). */
export function registerTransport(provider: TransportProvider, type = provider.type): void {
  registered.set(type, provider);
}

/** Finds the provider for a gateway type: registered ones first, then the package named by the type. */
export async function findTransport(type: string, specText: string): Promise<TransportProvider> {
  const known = registered.get(type);
  if (known) return known;
  const pkg = TRANSPORT_PACKAGES.get(type);
  if (!pkg) {
    throw new SpecError(
      `gateway spec ${JSON.stringify(specText)}: no transport provides the type "${type}". Known types: ${GATEWAY_TYPES.join(', ')}; ` +
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

/**
 * Refuses a key that no known transport reads, on a spec of a known type: a typo (`chdri=`, `nicee=`)
 * would otherwise be kept silently and do nothing. Custom types define their own keys: not checked.
 */
export function checkSpecKeys(spec: XSpec): void {
  if (!GATEWAY_TYPES.includes(spec.type)) return;
  for (const key of spec.keys()) {
    if (OPTION_KEYS.has(key) || GATEWAY_TYPES.includes(key)) continue;
    const near = closest(key, [...OPTION_KEYS, ...GATEWAY_TYPES]);
    const row = KNOWN_TRANSPORTS.find((t) => t.types.includes(spec.type))!;
    throw new SpecError(
      `gateway spec ${JSON.stringify(String(spec))}: no transport knows the key "${key}"${near ? ` (did you mean "${near}"?)` : ''}. ` +
        `A ${spec.type} gateway reads ${[...CORE_KEYS, ...row.keys, 'env:NAME=value'].join(', ')}.`,
    );
  }
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be a typo of it. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, with a transposition counted as one edit (chdri → chdir). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
