/**
 * The local end of the REPL protocol (see repl-remote.ts): one channel per session, requests by id.
 * `evaluate()` resolves with the remote's answer; `interrupt()` asks the remote to settle the
 * pending evaluation now. When the channel or its gateway closes, every pending request rejects
 * with that error (GatewayClosedError, RemoteError) and later calls reject at once.
 */
import type { Channel, Gateway } from '@tsnet/core';
import { type ReplAnswer, type ReplOptions, type ReplRequest, replRemote } from './repl-remote.js';

export type EvalResult = Extract<ReplAnswer, { op: 'result' }>;

export class ReplClient {
  readonly gateway: Gateway;
  readonly #channel: Channel<ReplRequest | ReplAnswer>;
  readonly #pending = new Map<number, { resolve: (a: ReplAnswer) => void; reject: (e: unknown) => void }>();
  #nextId = 1;
  #failure: unknown;
  /** Resolves with the remote pid once the remote REPL is ready; rejects if it cannot start. */
  readonly ready: Promise<number>;

  /** `onOutput` gets what the remote reports outside any evaluation (an error thrown by a timer). */
  constructor(gateway: Gateway, options: ReplOptions, onOutput: (text: string) => void) {
    this.gateway = gateway;
    this.#channel = gateway.remoteExec(replRemote, options);
    let onReady!: (pid: number) => void;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      this.#onFail = reject;
    });
    this.ready.catch(() => {}); // #fail() rejects it when nobody waits any more
    this.#channel.setCallback((item) => {
      const answer = item as ReplAnswer;
      if (answer.op === 'ready') return onReady(answer.pid);
      if (answer.op === 'output') return onOutput(answer.text);
      const waiter = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      waiter?.resolve(answer);
    });
    this.#channel.waitClose().then(
      () => this.#fail(new Error('the remote REPL ended')),
      (error: unknown) => this.#fail(error),
    );
  }

  #onFail: (e: unknown) => void = () => {};

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#onFail(error);
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }

  #request(build: (id: number) => ReplRequest): Promise<ReplAnswer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#channel.send(build(id)).catch((error: unknown) => {
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  /** Evaluates `code` (one or more lines, ending with a newline) in the remote context. */
  async evaluate(code: string): Promise<EvalResult> {
    return (await this.#request((id) => ({ op: 'eval', id, code }))) as EvalResult;
  }

  /** Settles the pending evaluation (if any) with `{ interrupted: true }`, as far as the remote can still read. */
  interrupt(): void {
    for (const id of this.#pending.keys()) void this.#channel.send({ op: 'interrupt', id }).catch(() => {});
  }

  /** Completions of `line` from the remote context, as readline's completer wants them. */
  async complete(line: string): Promise<[string[], string]> {
    const answer = await this.#request((id) => ({ op: 'complete', id, line }));
    return answer.op === 'completions' ? [answer.list, answer.sub] : [[], line];
  }

  /** Ends the session: the remote loop sees the channel close. */
  close(): void {
    this.#fail(new Error('the REPL session is closed'));
    this.#channel.close();
  }
}
