/**
 * Opening many gateways into one group with a bound on how many are being opened at once, and a
 * choice of what one failure means. A fleet of 64 gateways must not start 64 SSH handshakes at
 * the same moment (sshd's MaxStartups refuses the excess), and one dead host among them is normal.
 *
 * Contract:
 * - at most `concurrency` specs are being made at any moment (from makeGateway() until it
 *   settles); specs are taken in order, so ids (`gw0`, `gw1`, …) follow the order of `specs`;
 * - `onError: 'throw'` (default): the first failure rejects at once with that spec's error; no
 *   further spec is started; the caller terminates what was opened or is being opened;
 * - `onError: 'skip'`: every spec is tried; each failure is recorded as `{ spec, error }` in spec
 *   order, and the open resolves once every spec has settled;
 * - bad options (a concurrency that is not a positive integer, an unknown onError) reject with a
 *   TsnetError (TSNET_ERR_GROUP) before anything is started.
 */
import { GroupError } from './errors.js';
import type { Gateway, GatewayOptions } from './gateway.js';
import type { TransportProvider } from './transport.js';
import type { XSpec } from './xspec.js';

/** How many gateways Group.open() makes at once unless told otherwise. */
export const DEFAULT_OPEN_CONCURRENCY = 16;

export interface GroupOpenOptions extends GatewayOptions {
  /**
   * How many gateways are being opened at once (default 16). Gateways to one SSH host share one
   * connection, so this bounds concurrent SSH handshakes to distinct hosts: keep it at or below
   * the first number of the servers' MaxStartups (OpenSSH's default 10:30:100 starts refusing at
   * 10 unauthenticated connections from everyone).
   */
  concurrency?: number;
  /** 'throw' (default): the first failure rejects and what was opened is terminated. 'skip': open what answers, list the rest in `group.failures`. */
  onError?: 'throw' | 'skip';
}

/** A spec that could not be opened by Group.open(…, { onError: 'skip' }). */
export interface GroupFailure {
  /** The spec as given (a provider's type for a transport provider). */
  spec: string;
  error: Error;
}

type Spec = string | XSpec | TransportProvider | undefined;

function specText(spec: Spec): string {
  if (spec === undefined) return '';
  if (typeof spec === 'object' && 'connect' in spec && typeof spec.connect === 'function') return spec.type;
  return String(spec);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Splits Group.open's options into its own and the ones each gateway gets. */
export function openOptions(options: GroupOpenOptions | undefined): {
  concurrency: number;
  onError: 'throw' | 'skip';
  gateway: GatewayOptions | undefined;
} {
  if (options === undefined) return { concurrency: DEFAULT_OPEN_CONCURRENCY, onError: 'throw', gateway: undefined };
  const { concurrency = DEFAULT_OPEN_CONCURRENCY, onError = 'throw', ...gateway } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new GroupError(`Group.open(): concurrency must be a positive integer (how many gateways are opened at once), got ${String(concurrency)}`);
  }
  if (onError !== 'throw' && onError !== 'skip') {
    throw new GroupError(`Group.open(): onError must be 'throw' or 'skip', got ${JSON.stringify(onError)}`);
  }
  return { concurrency, onError, gateway };
}

/**
 * Makes a gateway per spec with `make`, at most `concurrency` at once. Resolves when all settled
 * (skip) or all opened (throw); rejects with the first failure under 'throw' without waiting for
 * the ones in flight (the caller's terminate() stops those).
 */
export function openEach(
  make: (spec: Spec, options: GatewayOptions | undefined) => Promise<Gateway>,
  specs: readonly Spec[],
  options: ReturnType<typeof openOptions>,
  failures: GroupFailure[],
): Promise<void> {
  const { concurrency, onError, gateway } = options;
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    const found: Array<GroupFailure & { index: number }> = [];
    const finish = () => {
      found.sort((a, b) => a.index - b.index);
      for (const { spec, error } of found) failures.push({ spec, error });
      resolve();
    };
    const startMore = () => {
      while (!failed && running < concurrency && next < specs.length) {
        const index = next++;
        const spec = specs[index];
        running++;
        make(spec, gateway).then(
          () => {
            running--;
            startMore();
          },
          (error: unknown) => {
            running--;
            if (onError === 'skip') {
              found.push({ index, spec: specText(spec), error: asError(error) });
              startMore();
            } else if (!failed) {
              failed = true;
              reject(error);
            }
          },
        );
      }
      if (!failed && running === 0 && next >= specs.length) finish();
    };
    startMore();
  });
}
