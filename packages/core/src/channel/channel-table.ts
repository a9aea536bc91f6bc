import type { ProtocolError } from '../errors.js';
import type { Channel } from './channel.js';

/**
 * The channels of one gateway by id. Each side issues ids of its own parity (the local side odd,
 * the remote side even; 0 is the gateway itself), so both can open channels without agreeing
 * first, and an id of our parity we never issued is a protocol error, not a new channel.
 *
 * Contract: lookup()/accept() throw the ProtocolError `bad` builds for ids the peer could not
 * have been given; a late frame for a channel we closed and forgot finds nothing (undefined).
 */
export class ChannelTable {
  readonly #channels = new Map<number, Channel>();
  #nextId: number;
  readonly #parity: number;
  readonly #make: (id: number) => Channel;
  readonly #bad: (what: string) => ProtocolError;
  /** Set once worker-thread execs exist: the next id, shared with their gateways (Atomics). */
  #shared: Int32Array | null = null;

  constructor(role: 'master' | 'worker', make: (id: number) => Channel, bad: (what: string) => ProtocolError) {
    this.#parity = role === 'master' ? 1 : 0;
    this.#nextId = role === 'master' ? 1 : 2;
    this.#make = make;
    this.#bad = bad;
  }

  /** Opens a channel of ours. */
  open(): Channel {
    const id = this.#shared ? Atomics.add(this.#shared, 0, 2) : this.#nextId;
    this.#nextId = id + 2;
    const ch = this.#make(id);
    this.#channels.set(id, ch);
    return ch;
  }

  /**
   * The id counter in shared memory, for the gateways of worker threads (ids never clash): made
   * from ours on the first call, or adopted (a thread's gateway, given its parent's).
   */
  share(ids?: Int32Array): Int32Array {
    if (ids) this.#shared = ids;
    else if (!this.#shared) {
      this.#shared = new Int32Array(new SharedArrayBuffer(4));
      this.#shared[0] = this.#nextId;
    }
    return this.#shared;
  }

  get(id: number): Channel | undefined {
    return this.#channels.get(id);
  }

  /** Finds a channel, creating one the peer opened when `create`. Throws for ids this side could not have issued. */
  lookup(id: number, create: boolean): Channel | undefined {
    const ch = this.#channels.get(id);
    if (ch) return ch;
    if (id === 0) throw this.#bad('channel frame for channel 0 (reserved for the gateway)');
    if ((id & 1) === this.#parity) {
      if (id >= (this.#shared ? Atomics.load(this.#shared, 0) : this.#nextId)) throw this.#bad(`channel ${id} was never opened by this side`);
      return undefined; // closed and forgotten: a late frame
    }
    if (!create) return undefined;
    const fresh = this.#make(id);
    this.#channels.set(id, fresh);
    return fresh;
  }

  /** Registers a channel the peer opened with EXEC or STATUS. */
  accept(id: number): Channel {
    if (id === 0 || (id & 1) === this.#parity) throw this.#bad(`peer opened channel ${id} with the wrong parity`);
    if (this.#channels.has(id)) throw this.#bad(`peer opened channel ${id} twice`);
    const ch = this.#make(id);
    this.#channels.set(id, ch);
    return ch;
  }

  forget(id: number): void {
    this.#channels.delete(id);
  }

  get size(): number {
    return this.#channels.size;
  }

  values(): IterableIterator<Channel> {
    return this.#channels.values();
  }

  clear(): void {
    this.#channels.clear();
  }
}
