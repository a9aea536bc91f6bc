/**
 * `tsnet repl`: a prompt on a remote runtime. Line editing, history (kept in a local file) and the
 * keys stay local (node:readline); every line is evaluated remotely (repl-remote.ts). Ctrl-C while
 * an evaluation runs interrupts it and keeps the session; if the remote does not answer (code that
 * blocks its thread), a second Ctrl-C replaces the gateway with a fresh one (its state is lost).
 * Ctrl-C at an empty prompt twice, Ctrl-D and `.exit` end the session with exit code 0; a remote
 * runtime that ends by itself (process.exit()) ends it with exit code 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Gateway } from '@tsnet/core';
import { expandTx, flag, HELP_OPTION, parse, strs, TX_OPTION, UsageError } from './args.js';
import type { Context } from './context.js';
import { type Gateways, openGroup } from './gateways.js';
import { write } from './output.js';
import { type EvalResult, ReplClient } from './repl-client.js';

export const REPL_USAGE = `Usage: tsnet repl [--tx SPEC]

An interactive prompt on a remote runtime. Line editing and history stay here; each line is
evaluated there: state is kept between lines, top-level await works, results are shown with
util.inspect, and Tab completes names of the remote context.

  --tx SPEC     the gateway (one; default popen)
  -h, --help    show this text

Keys and commands: Ctrl-C stops the running evaluation (and clears the line at the prompt; twice
on an empty line ends the session), Ctrl-D or .exit ends the session, .break drops unfinished
multi-line input, .help lists these. History is kept in $TSNET_REPL_HISTORY (default
~/.tsnet_repl_history; set it empty for none).
`;

const HELP_TEXT = `.break    drop the unfinished multi-line input
.exit     end the session (also Ctrl-D)
.help     show this text
Ctrl-C    stop the running evaluation; at the prompt, clear the line
`;

/** How long a remote gets to answer an interrupt before it counts as blocked. */
const INTERRUPT_GRACE_MS = 1500;

export async function replCommand(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse('tsnet repl', argv, { ...TX_OPTION, ...HELP_OPTION });
  if (flag(values, 'help')) {
    await write(ctx.stdout, REPL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`tsnet repl takes no arguments, got ${JSON.stringify(positionals[0])} (see: tsnet repl --help)`);
  const specs = expandTx('tsnet repl', strs(values, 'tx'));
  if (specs.length !== 1) throw new UsageError(`tsnet repl runs on one gateway; got ${specs.length} (--tx ${strs(values, 'tx')?.join(' --tx ')})`);
  const gateways = await openGroup('tsnet repl', specs, { stdout: ctx.stdout, stderr: ctx.stderr });
  try {
    return await new ReplSession(gateways, specs[0]!, ctx).run();
  } finally {
    await gateways.close();
  }
}

class ReplSession {
  readonly #gateways: Gateways;
  readonly #spec: string;
  readonly #ctx: Context;
  readonly #terminal: boolean;
  readonly #historyFile: string | undefined;
  #client!: ReplClient;
  #rl!: Interface;
  #buffer = '';
  #queue: string[] = [];
  #busy = false;
  #interruptedAt = 0;
  #lastSigintAtPrompt = false;
  #ended = false;
  #finish!: (code: number) => void;

  constructor(gateways: Gateways, spec: string, ctx: Context) {
    this.#gateways = gateways;
    this.#spec = spec;
    this.#ctx = ctx;
    this.#terminal = Boolean(ctx.stdin.isTTY && ctx.stdout.isTTY);
    const file = ctx.env.TSNET_REPL_HISTORY ?? join(homedir(), '.tsnet_repl_history');
    this.#historyFile = this.#terminal && file !== '' ? file : undefined;
  }

  async run(): Promise<number> {
    await this.#connect(this.#gateways.group.get(0)!);
    const done = new Promise<number>((resolve) => (this.#finish = resolve));
    this.#rl = createInterface({
      input: this.#ctx.stdin,
      output: this.#ctx.stdout,
      terminal: this.#terminal,
      prompt: '> ',
      history: this.#loadHistory(),
      historySize: 1000,
      removeHistoryDuplicates: true,
      completer: (line: string, cb: (error: Error | null, result: [string[], string]) => void) => {
        this.#client.complete(line).then(
          (result) => cb(null, result),
          () => cb(null, [[], line]),
        );
      },
    });
    this.#rl.on('line', (line) => {
      this.#queue.push(line);
      void this.#pump();
    });
    this.#rl.on('SIGINT', () => this.#onSigint());
    this.#rl.on('close', () => {
      if (!this.#ended && this.#terminal) this.#ctx.stdout.write('\n');
      // Ctrl-D or end of input: lines already typed are still evaluated first.
      this.#queue.push('.exit');
      void this.#pump();
    });
    if (this.#terminal) this.#rl.prompt();
    const code = await done;
    this.#saveHistory();
    return code;
  }

  async #connect(gw: Gateway): Promise<void> {
    const columns = this.#ctx.stdout.columns ?? 80;
    this.#client = new ReplClient(gw, { colors: this.#ctx.color, columns }, (text) => {
      this.#ctx.stdout.write(`\n${text}\n`);
      if (!this.#busy && !this.#ended) this.#rl.prompt(true);
    });
    await this.#client.ready;
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#ended) return;
    this.#busy = true;
    try {
      while (this.#queue.length > 0 && !this.#ended) await this.#handle(this.#queue.shift()!);
    } finally {
      this.#busy = false;
    }
    if (!this.#ended && this.#terminal) {
      this.#rl.setPrompt(this.#buffer === '' ? '> ' : '... ');
      this.#rl.prompt();
    }
  }

  async #handle(line: string): Promise<void> {
    this.#lastSigintAtPrompt = false;
    if (this.#buffer === '' && /^\s*\.[a-z]+\s*$/.test(line)) return this.#command(line.trim());
    const code = `${this.#buffer}${line}\n`;
    if (code.trim() === '' && this.#buffer === '') return;
    let result: EvalResult;
    this.#interruptedAt = 0;
    try {
      result = await this.#client.evaluate(code);
    } catch (error) {
      if (this.#ended) return;
      if (this.#replacing) {
        await this.#replacing;
        this.#replacing = undefined;
        this.#buffer = '';
        return;
      }
      await write(this.#ctx.stderr, `tsnet repl: the remote runtime is gone: ${(error as Error).message}\n`);
      return this.#end(1);
    }
    if (result.recoverable) {
      this.#buffer = code;
      return;
    }
    this.#buffer = '';
    if (result.interrupted) await write(this.#ctx.stderr, 'Interrupted: the evaluation was stopped (its promise is abandoned); the session goes on\n');
    else if (result.error !== undefined) await write(this.#ctx.stdout, `${result.error}\n`);
    else if (result.text !== undefined) await write(this.#ctx.stdout, `${result.text}\n`);
  }

  async #command(name: string): Promise<void> {
    if (name === '.exit') return this.#end(0);
    if (name === '.help') return void (await write(this.#ctx.stdout, HELP_TEXT));
    if (name === '.break' || name === '.clear') {
      this.#buffer = '';
      return;
    }
    await write(this.#ctx.stderr, `Invalid REPL keyword ${name} (.help lists them)\n`);
  }

  #replacing: Promise<void> | undefined;
  /** Set once the remote failed to answer an interrupt in time: the next Ctrl-C replaces it. */
  #blocked = false;

  #onSigint(): void {
    if (this.#busy) {
      const now = Date.now();
      if (this.#interruptedAt === 0) {
        this.#interruptedAt = now;
        this.#blocked = false;
        this.#client.interrupt();
        setTimeout(() => {
          if (this.#busy && this.#interruptedAt === now) {
            this.#blocked = true;
            void write(
              this.#ctx.stderr,
              `(${this.#client.gateway.id} does not answer: its code blocks the thread. Ctrl-C again replaces it with a fresh runtime; its state is lost)\n`,
            );
          }
        }, INTERRUPT_GRACE_MS).unref();
      } else if (this.#blocked && !this.#replacing) {
        this.#replacing = this.#replace();
      }
      return;
    }
    // At the prompt: clear the line, or on an empty one say how to leave (twice: leave).
    const empty = this.#rl.line === '' && this.#buffer === '';
    this.#buffer = '';
    if (empty && this.#lastSigintAtPrompt) return void this.#end(0);
    this.#lastSigintAtPrompt = empty;
    if (this.#terminal) {
      this.#rl.write(null, { ctrl: true, name: 'e' });
      this.#rl.write(null, { ctrl: true, name: 'u' });
    }
    this.#ctx.stdout.write(empty ? '\n(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n' : '\n');
    this.#rl.setPrompt('> ');
    this.#rl.prompt();
  }

  /** Kills the blocked runtime and opens a fresh one with the same spec; the pending evaluation ends. */
  async #replace(): Promise<void> {
    const old = this.#client;
    this.#blocked = false;
    await old.gateway.kill();
    try {
      const gw = await this.#gateways.group.makeGateway(this.#spec, { output: 'ignore' });
      await this.#connect(gw);
      await write(this.#ctx.stderr, `(${old.gateway.id} was killed; ${gw.id} is a fresh runtime, pid ${(await gw.remoteInfo()).pid}: earlier state is gone)\n`);
    } catch (error) {
      await write(this.#ctx.stderr, `tsnet repl: cannot open a fresh gateway: ${(error as Error).message}\n`);
      this.#end(1);
    }
  }

  #end(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#client.close();
    this.#rl.close();
    this.#finish(code);
  }

  #loadHistory(): string[] {
    if (!this.#historyFile) return [];
    try {
      return readFileSync(this.#historyFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  #saveHistory(): void {
    if (!this.#historyFile) return;
    const history = (this.#rl as unknown as { history?: string[] }).history ?? [];
    try {
      writeFileSync(this.#historyFile, `${history.join('\n')}\n`, { mode: 0o600 });
    } catch (error) {
      this.#ctx.stderr.write(`tsnet repl: cannot save the history to ${this.#historyFile}: ${(error as Error).message}\n`);
    }
  }
}
