/**
 * Opening the `--tx` gateways for a subcommand, and where their remote stdout/stderr goes. A spec
 * that no transport takes becomes a UsageError (exit 2); any other failure to open rejects as it
 * is, after the gateways already opened are terminated (Group does that). Remote output is
 * written as it comes for one gateway, and line by line with a `[gwN] ` prefix for several.
 */
import { Group, SpecError } from '@tsnet/core';
import { UsageError } from './args.js';

export type OutputTarget = NodeJS.WritableStream | null;

export interface OpenOptions {
  /** Where remote stdout goes (null: dropped). */
  stdout: OutputTarget;
  /** Where remote stderr goes (null: dropped). */
  stderr: OutputTarget;
}

export interface Gateways extends AsyncDisposable {
  readonly group: Group;
  /** Ends every gateway (kills what still runs after `timeout` ms) and writes their last partial lines. */
  close(timeout?: number): Promise<void>;
}

/** Opens one gateway per spec as one group; remote output is routed from the first byte on. */
export async function openGroup(command: string, specs: string[], options: OpenOptions): Promise<Gateways> {
  const group = new Group(specs, { output: 'ignore' });
  const router = new OutputRouter(specs.length > 1, options);
  group.onOutput((stream, text, id) => router.route(stream, text, id));
  try {
    await group.ready;
  } catch (error) {
    router.flush();
    if (error instanceof SpecError) throw new UsageError(`${command}: ${error.message}`);
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (timeout = 2000): Promise<void> => (closing ??= group.terminate({ timeout }).then(() => router.flush()));
  return { group, close, [Symbol.asyncDispose]: () => close() };
}

class OutputRouter {
  readonly #prefixed: boolean;
  readonly #targets: OpenOptions;
  readonly #partial = new Map<string, string>();

  constructor(prefixed: boolean, targets: OpenOptions) {
    this.#prefixed = prefixed;
    this.#targets = targets;
  }

  route(stream: 'stdout' | 'stderr', text: string, id: string): void {
    const target = this.#targets[stream];
    if (!target) return;
    if (!this.#prefixed) {
      target.write(text);
      return;
    }
    const key = `${id}\0${stream}`;
    const buffered = (this.#partial.get(key) ?? '') + text;
    const cut = buffered.lastIndexOf('\n');
    this.#partial.set(key, buffered.slice(cut + 1));
    if (cut === -1) return;
    const prefix = `[${id}] `;
    target.write(
      `${buffered
        .slice(0, cut)
        .split('\n')
        .map((l) => prefix + l)
        .join('\n')}\n`,
    );
  }

  flush(): void {
    for (const [key, rest] of this.#partial) {
      if (rest === '') continue;
      const [id, stream] = key.split('\0') as [string, 'stdout' | 'stderr'];
      this.#targets[stream]?.write(`[${id}] ${rest}\n`);
    }
    this.#partial.clear();
  }
}
