/**
 * What each command type provides: the argv template that goes in front of the runtime command,
 * and a classifier for what its tool prints when it fails before the runtime runs. The transport
 * itself (starting, the ready marker, killing) is the same for all of them (see connect-cmd.ts).
 */
import type { XSpec } from '@tsnet/core/transport';
import { formatStderrTail, SpecError } from '@tsnet/core/transport';

export interface Template {
  /** The tool's argv; the runtime command is appended. */
  argv: string[];
  /** The spec key that names another binary for the tool (`docker-bin`), if there is one. */
  binKey?: string;
  /** What the runtime runs in, for messages: "container web", "user app". */
  target: string;
  /** Its name alone: "web", "app". */
  name: string;
  /** The user the runtime runs as inside the target, where the spec names one (`user=`). */
  user?: string;
  /** sudo -S: the prompt it prints on stderr and the password to answer it with (from password-env=). */
  password?: { prompt: string; value: string; env: string };
  /**
   * How kill() reaches the runtime. 'group': it is in the tool's process group on the host (chroot,
   * netns exec and most commands exec it). 'inside': it lives where the tool put it (a container, a
   * pod, another user), so kill() runs a second command through the same tool that kills it there.
   */
  reach: 'group' | 'inside';
}

/** How a start failed before the runtime's marker: what the tool said and how it ended. */
export interface Failure {
  /** Everything the tool wrote to stderr. */
  stderr: string;
  code: number | null;
  signal: string | null;
  /** "this machine (name)" or "the host of gateway gw0". */
  where: string;
  /** The runtime executable that was tried. */
  exe: string;
  /** The spec as given, for messages. */
  spec: string;
}

export interface CmdType {
  readonly type: string;
  /** Spec keys this type reads besides the common ones (runtime, exe, node, chdir, env:, id, via). */
  readonly keys: readonly string[];
  template(spec: XSpec): Template;
  /** A typed error for a failure this tool's output explains, or undefined (a generic error then). */
  classify(failure: Failure, template: Template): Error | undefined;
}

/** The last lines of a tool's stderr, indented, for the end of an error message. */
export function stderrTail(stderr: string, lines = 12): string {
  return formatStderrTail(stderr, lines);
}

/** `value` of a key that must be a non-empty string, or a SpecError. */
export function stringKey(spec: XSpec, key: string, example: string): string {
  const v = spec.get(key);
  if (typeof v !== 'string' || v === '') {
    throw specError(spec, `${key} needs a value (${example})`);
  }
  return v;
}

/** A SpecError that starts with the spec. */
export function specError(spec: XSpec, what: string): SpecError {
  return new SpecError(`gateway spec ${JSON.stringify(String(spec))}: ${what}`);
}
