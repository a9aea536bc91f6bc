/**
 * Starting a command gateway, the same for every type: the tool's argv (from the type's template),
 * then the runtime command with its prelude; on this machine or, with `via=`, on the host of that
 * gateway. Then the bootstrap goes down stdin (for sudo with a password, only once sudo took the
 * password and the runtime runs), and connect() resolves when the runtime's marker arrived.
 *
 * Errors: a tool that is not installed is a ConnectError naming it (and its `-bin=` key); a start
 * that fails before the marker is what the type's classifier makes of the tool's stderr (no such
 * container, user, namespace, directory: ConnectError; no runtime in the target: BootstrapError;
 * sudo wanting a password: AuthenticationError), else a ConnectError with the tool's last lines.
 * A start that takes longer than `startTimeout` ms (default 30 s) is killed with a ConnectError.
 * The password is written to sudo's stdin only; it never appears in an argv or a message.
 */
import { randomBytes } from 'node:crypto';
import { preamble } from '@tsnet/bootstrap';
import { ConnectError, type ConnectOptions, deadline, type Transport, type TransportProvider } from '@tsnet/core/transport';
import { CmdTransport } from './cmd-transport.js';
import { type CmdType, type Failure, stderrTail, type Template } from './cmd-type.js';
import { type Host, localHost, MissingTool, viaHost } from './host.js';
import { EXIT_CHDIR_FAILED, killArgv, type RuntimeCommand, runtimeCommand, withPrelude } from './runtime-command.js';
import { passwordRefused } from './sudo.js';

const START_TIMEOUT_MS = 30_000;
const KILL_HELPER_MS = 5000;

export interface CmdProviderOptions {
  /** How long the tool may take to start the runtime, in ms (default 30000). */
  startTimeout?: number;
}

/** A transport provider for one command type. */
export function cmdProvider(type: CmdType, options: CmdProviderOptions = {}): TransportProvider {
  return { type: type.type, connect: (connectOptions) => connectCmd(type, connectOptions, options) };
}

/** The argv a spec runs (tool template + runtime command), without starting it: for tests and docs. */
export function cmdArgv(type: CmdType, spec: ConnectOptions['spec'], marker = 'TSNET-CMD-READY'): { template: Template; argv: string[] } {
  const template = type.template(spec);
  const runtime = runtimeCommand(spec);
  return { template, argv: [...template.argv, ...withPrelude(runtime, { marker, chdir: spec.getString('chdir'), env: spec.env })] };
}

async function connectCmd(type: CmdType, options: ConnectOptions, providerOptions: CmdProviderOptions): Promise<Transport> {
  const { spec } = options;
  const specText = String(spec);
  const marker = `TSNET-CMD-READY-${randomBytes(6).toString('hex')}`;
  const { template, argv } = cmdArgv(type, spec, marker);
  const runtime = runtimeCommand(spec);
  const host: Host = options.via ? viaHost(options.via) : localHost;
  options.signal?.throwIfAborted();

  let inner: Transport;
  try {
    inner = await host.start(argv, `${type.type}=${template.name}`, options.signal);
  } catch (error) {
    if (error instanceof MissingTool) {
      throw new ConnectError(
        `gateway spec ${JSON.stringify(specText)}: cannot run ${JSON.stringify(error.tool)} on ${host.where}: ${error.message}. ` +
          `Install it there${template.binKey ? `, or name its path with ${template.binKey}=/path/to/${type.type}` : ', or give its full path'}.`,
        { cause: error },
      );
    }
    throw error;
  }

  const transport = new CmdTransport(inner, {
    marker,
    runtime: { name: runtime.runtime, exe: runtime.exe },
    ...(template.password ? { dropLines: [template.password.prompt] } : {}),
    ...(template.reach === 'inside' ? { killInside: (pid: number) => killInside(host, template, runtime, pid) } : {}),
  });
  const boot = preamble({ wireFd: 1, output: 'fd', killGroup: true, watchPpid: true, runtime: runtime.runtime });
  let refused = false;
  const password = template.password;
  if (password) {
    // sudo -S reads the password from stdin byte by byte, then the runtime reads the rest: the
    // bootstrap must wait until sudo took the password (the marker), or a refused password would
    // make sudo read the bootstrap as its next tries.
    let answered = false;
    transport.onEarlyStderr((text) => {
      const prompts = text.split('\n').filter((l) => l === password.prompt).length;
      if (prompts >= 1 && !answered) {
        answered = true;
        transport.write(Buffer.from(`${password.value}\n`));
      } else if (!refused && (prompts >= 2 || /Sorry, try again\./.test(text))) {
        refused = true;
        void transport.kill();
      }
    });
    void transport.ready.then(() => transport.write(boot)).catch(() => {});
  } else {
    // The runtime reads it once it runs; a tool that fails first discards it.
    transport.write(boot);
  }

  const timeout = providerOptions.startTimeout ?? START_TIMEOUT_MS;
  const timedOut = Symbol('timeout');
  let outcome: number | typeof timedOut | undefined;
  try {
    outcome = await deadline(transport.ready, { signal: options.signal, timeout, onTimeout: () => timedOut });
  } catch {
    // the tool ended before the marker, or the signal aborted
  }
  if (typeof outcome !== 'number') {
    if (!transport.exitInfo) await transport.kill();
    const exit = await transport.closed;
    if (options.signal?.aborted) throw options.signal.reason;
    if (refused && password) throw passwordRefused(spec, password.env, host.where);
    if (outcome === timedOut) {
      throw new ConnectError(
        `gateway spec ${JSON.stringify(specText)}: ${argv[0]} on ${host.where} did not start ${runtime.exe} in ${template.target} within ${timeout} ms; it was killed.` +
          stderrTail(transport.earlyStderr),
      );
    }
    const failure: Failure = { stderr: transport.earlyStderr, code: exit.code, signal: exit.signal, where: host.where, exe: runtime.exe, spec: specText };
    throw type.classify(failure, template) ?? genericFailure(failure, template, argv[0]!, exit.reason);
  }
  await guardDeath(host, template, runtime, transport);
  return transport;
}

/**
 * A runtime inside a container outlives this process's sudden death unless something runs its kill
 * command then, on the tool's host: the death lifeline here, a guard task in the master's runtime
 * for via= (see Host.guard), armed before the gateway is handed out (a guard that does not answer
 * within its bound changes nothing else). The sudo password is never stored for this: such runtimes
 * rely on their watchdog (their parent, sudo, goes with the tool's process group).
 */
async function guardDeath(host: Host, template: Template, runtime: RuntimeCommand, transport: CmdTransport): Promise<void> {
  const pid = transport.remotePid;
  if (template.reach !== 'inside' || template.password || pid === undefined) return;
  const guard = host.guard([...template.argv, ...killArgv(runtime, pid)]);
  if (!guard) return;
  void transport.closed.then(() => guard.release());
  await guard.armed?.catch(() => {});
}

function killInside(host: Host, template: Template, runtime: RuntimeCommand, pid: number): Promise<unknown> {
  return host.run([...template.argv, ...killArgv(runtime, pid)], {
    input: template.password ? `${template.password.value}\n` : '',
    timeoutMs: KILL_HELPER_MS,
  });
}

function genericFailure(f: Failure, template: Template, tool: string, reason: string | undefined): Error {
  if (f.code === EXIT_CHDIR_FAILED && f.stderr.includes('tsnet: cannot change directory')) {
    const line = f.stderr
      .split('\n')
      .find((l) => l.startsWith('tsnet: cannot change directory'))!
      .slice('tsnet: '.length);
    return new ConnectError(`gateway spec ${JSON.stringify(f.spec)}: in ${template.target}, ${line}`);
  }
  const how = f.code !== null ? `exited with code ${f.code}` : f.signal ? `was killed by ${f.signal}` : (reason ?? 'ended');
  return new ConnectError(
    `gateway spec ${JSON.stringify(f.spec)}: ${tool} on ${f.where} ${how} before ${f.exe} ran in ${template.target}.${stderrTail(f.stderr)}`,
  );
}
