/**
 * The remote half of `tsnet repl`, sent with remoteExec(fn): a self-contained function (it names
 * nothing from this module's scope) that evaluates lines in a node:repl REPLServer's context, so
 * the remote runtime does what Node's own REPL does: state kept between lines, top-level await
 * (declarations included), util.inspect of results, `_` and `_error`, multi-line input
 * (Recoverable), and completion of the remote context's names.
 *
 * Protocol on its channel (local → remote): `{ op: 'eval', id, code }`, `{ op: 'interrupt', id }`,
 * `{ op: 'complete', id, line }`. Answers (remote → local): first `{ op: 'ready', pid }`, then one
 * `{ op: 'result', id, … }` per eval (`text` shown value, `error` text of an uncaught error,
 * `recoverable: true` for unfinished input, `interrupted: true`), `{ op: 'completions', id,
 * list, sub }`, and `{ op: 'output', text }` for an uncaught error while no evaluation runs. An interrupt settles the pending evaluation at once: its promise is abandoned (as in
 * Node's REPL), the session stays. Code that blocks the thread never reads the interrupt: the local
 * side replaces the gateway then. When the local side closes the channel, the loop ends.
 *
 * When remoteExec's `signal` (issue 14) lands, only `interrupt` changes: the local side aborts the
 * evaluation's signal and this side settles on `channel.signal` instead of the message.
 */
import type { Channel } from '@tsnet/core';

export interface ReplOptions {
  colors: boolean;
  columns: number;
}

export type ReplRequest = { op: 'eval'; id: number; code: string } | { op: 'interrupt'; id: number } | { op: 'complete'; id: number; line: string };

export type ReplAnswer =
  | { op: 'ready'; pid: number }
  | { op: 'result'; id: number; text?: string; error?: string; recoverable?: true; interrupted?: true }
  | { op: 'completions'; id: number; list: string[]; sub: string }
  | { op: 'output'; text: string };

export async function replRemote(channel: Channel<ReplRequest | ReplAnswer>, kwargs: ReplOptions): Promise<void> {
  // Deno's node:repl has its members on the default export only.
  const replModule = await import('node:repl');
  const repl = ((replModule as unknown as { default?: typeof replModule }).default ?? replModule) as typeof replModule;
  const { PassThrough, Writable } = await import('node:stream');
  /** What settles the evaluation in progress (the local side sends one at a time). */
  let settle: ((outcome: { interrupted?: true; errorText?: string; error?: unknown; value?: unknown; done?: true }) => void) | undefined;
  /** Frames of the REPL's own machinery say nothing about the user's code (Node's REPL drops them too). */
  const trimStack = (text: string) => {
    const lines = text.split('\n');
    const cut = lines.findIndex((l) => /^\s+at (.*\brunInContext\b|.*\b(node:repl|node:vm|node:domain|node:async_hooks|node:internal\/|ext:))/.test(l));
    return (cut === -1 ? lines : lines.slice(0, cut)).join('\n').trimEnd();
  };
  // An uncaught error (thrown, awaited, or later from a timer the code started) never reaches
  // eval's callback on Node and Bun: the REPLServer writes it to its output as Node's REPL shows
  // it ("Uncaught …"). That text is the answer; one tick collects all of it.
  let written = '';
  let flushing = false;
  const flush = () => {
    flushing = false;
    const text = trimStack(written);
    written = '';
    if (text === '') return;
    if (settle) settle({ errorText: text });
    else void channel.send({ op: 'output', text }).catch(() => {});
  };
  const sink = new Writable({
    write: (chunk, _enc, cb) => {
      written += String(chunk);
      if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
      cb();
    },
  });
  const server = repl.start({ input: new PassThrough(), output: sink, terminal: false, prompt: '', useColors: kwargs.colors });
  Object.assign(repl.writer.options ?? {}, { colors: kwargs.colors, breakLength: Math.max(40, kwargs.columns) });
  let current = 0;
  const evaluate = async (id: number, code: string) => {
    current = id;
    const outcome = await new Promise<Parameters<NonNullable<typeof settle>>[0]>((resolve) => {
      settle = resolve;
      server.eval(code, server.context, `REPL${id}`, (error, value) => resolve(error ? { error } : { value, done: true }));
    });
    settle = undefined;
    if (outcome.interrupted) return channel.send({ op: 'result', id, interrupted: true });
    if (outcome.errorText !== undefined) return channel.send({ op: 'result', id, error: outcome.errorText });
    if (!outcome.done) {
      if (outcome.error instanceof repl.Recoverable) return channel.send({ op: 'result', id, recoverable: true });
      return channel.send({ op: 'result', id, error: `Uncaught ${trimStack(String((outcome.error as Error)?.stack ?? outcome.error))}` });
    }
    (server as unknown as { last: unknown }).last = outcome.value;
    return channel.send({ op: 'result', id, text: server.writer(outcome.value) });
  };
  await channel.send({ op: 'ready', pid: process.pid });
  try {
    for await (const request of channel as AsyncIterable<ReplRequest>) {
      if (request.op === 'eval') void evaluate(request.id, request.code).catch(() => {});
      else if (request.op === 'interrupt' && request.id === current) settle?.({ interrupted: true });
      else if (request.op === 'complete') {
        const id = request.id;
        const complete = server.completer as (line: string, cb: (error: Error | null, result?: [string[], string]) => void) => void;
        complete.call(server, request.line, (error, result) => {
          const [list, sub] = error || !result ? [[], ''] : result;
          void channel.send({ op: 'completions', id, list: list as string[], sub: sub as string }).catch(() => {});
        });
      }
    }
  } finally {
    server.close();
  }
}
