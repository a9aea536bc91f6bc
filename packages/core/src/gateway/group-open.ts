/**
 * Opening many gateways into one group with a bound on how many are being opened at once, and a
 * choice of what one failure means. A fleet of 64 gateways must not start 64 SSH handshakes at
 * the same moment (sshd's MaxStartups refuses the excess), and one dead host among them is normal.
 *
 * Contract:
 * - at most `concurrency` specs are being made at any moment (from makeGateway() until it
 *   settles); ids (`gw0`, `gw1`, …) and, once the open resolved, the group's order follow the
 *   order of `specs` whatever the start order;
 * - specs start round-robin over their targets (the value of the type key: `ssh=h1`, `ssh=h2`…),
 *   so the first gateway of every host starts before the second of any: gateways to one host share
 *   its connection and wait for what its first gateway learns, and would only hold slots that
 *   other hosts' handshakes could use. With any `via=` spec the order is kept as given (a master
 *   must be started before the gateways made through it);
 * - `onError: 'throw'` (default): the first failure rejects at once with that spec's error; no
 *   further spec is started; the caller terminates what was opened or is being opened;
 * - `onError: 'skip'`: every spec is tried; each failure is recorded as `{ spec, error }` in spec
 *   order, and the open resolves once every spec has settled;
 * - bad options (a concurrency that is not a positive integer, an unknown onError) reject with a
 *   TsnetError (TSNET_ERR_GROUP) before anything is started.
 */
import { GroupError } from '../errors.js';
import type { TransportProvider } from '../spec/transport-types.js';
import { XSpec } from '../spec/xspec.js';
import type { Gateway, GatewayOptions } from './gateway.js';

/** How many gateways Group.open() makes at once unless told otherwise. */
export const DEFAULT_OPEN_CONCURRENCY = 16;

export interface GroupOpenOptions extends GatewayOptions {
  /**
   * How many gateways are being opened at once (default 16). Gateways to one SSH host share one
   * connection, so this bounds concurrent SSH handshakes to distinct hosts. Keep it at or below 10
   * (the first number of OpenSSH's default MaxStartups 10:30:100, counted per sshd) when many
   * connections end at one sshd: several processes reaching one host, hosts behind one address.
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
 * The order to start specs in: round-robin over targets (see the contract above), or as given
 * when a spec is not an XSpec yet or uses via=.
 */
function startOrder(specs: readonly Spec[]): number[] {
  const buckets = new Map<string, number[]>();
  for (const [i, spec] of specs.entries()) {
    if (!(spec instanceof XSpec) || spec.get('via') !== undefined) return specs.map((_, k) => k);
    const key = `${spec.type}=${String(spec.get(spec.type))}`;
    const list = buckets.get(key) ?? [];
    list.push(i);
    buckets.set(key, list);
  }
  const order: number[] = [];
  const lists = [...buckets.values()];
  for (let round = 0; order.length < specs.length; round++) for (const list of lists) if (round < list.length) order.push(list[round]!);
  return order;
}

/**
 * Makes a gateway per spec with `make`, at most `concurrency` at once. Spec strings are parsed
 * and given their ids (`prepare`) first, in spec order; a spec that does not parse fails like
 * one that does not open. Resolves when all settled (skip) or all opened (throw); rejects with
 * the first failure under 'throw' without waiting for the ones in flight (the caller's
 * terminate() stops those). Resolves with the ids of the specs, in spec order, where known.
 */
export function openEach(
  make: (spec: Spec, options: GatewayOptions | undefined) => Promise<Gateway>,
  given: readonly Spec[],
  options: ReturnType<typeof openOptions>,
  failures: GroupFailure[],
  prepare: (spec: XSpec) => void,
): Promise<string[]> {
  const { concurrency, onError, gateway } = options;
  const found: Array<GroupFailure & { index: number }> = [];
  const specs: Spec[] = [];
  let early: unknown;
  for (const [index, spec] of given.entries()) {
    if (typeof spec !== 'string' || spec === '') {
      specs.push(spec);
      continue;
    }
    try {
      specs.push(new XSpec(spec));
    } catch (error) {
      if (onError === 'throw') {
        early ??= error;
        break;
      }
      found.push({ index, spec, error: asError(error) });
      specs.push(undefined);
    }
  }
  if (early !== undefined) return Promise.reject(early);
  const order = startOrder(specs).filter((i) => !found.some((f) => f.index === i));
  // Ids in spec order, before anything starts out of that order.
  const reordered = order.some((i, k) => k > 0 && i < order[k - 1]!);
  if (reordered) for (const s of specs) if (s instanceof XSpec) prepare(s);
  return new Promise<string[]>((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    const finish = () => {
      found.sort((a, b) => a.index - b.index);
      for (const { spec, error } of found) failures.push({ spec, error });
      resolve(specs.flatMap((s) => (s instanceof XSpec && s.id !== undefined ? [s.id] : [])));
    };
    const startMore = () => {
      while (!failed && running < concurrency && next < order.length) {
        const index = order[next++]!;
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
              found.push({ index, spec: specText(given[index]), error: asError(error) });
              startMore();
            } else if (!failed) {
              failed = true;
              reject(error);
            }
          },
        );
      }
      if (!failed && running === 0 && next >= order.length) finish();
    };
    startMore();
  });
}
