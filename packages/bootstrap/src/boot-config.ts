/** What the local side tells the bundle in the header line, before any frame. */
export interface BootConfig {
  /** File descriptor the remote writes frames to: 1 (stdout) or 3 (a pipe of its own, popen). */
  wireFd: number;
  /** Where remote stdout/stderr text goes: 'fd' (its own stderr) or 'frames' (OUTPUT frames). */
  output: 'fd' | 'frames';
  /**
   * A pipe that is the process's fd 1 (ssh: the start script points fd 1 at a FIFO it holds open
   * here): what native code and children with stdio 'inherit' write to stdout, read back and sent
   * as stdout OUTPUT frames. Ignored when the fd is not a FIFO (the script fell back to stderr).
   */
  stdoutFd?: number;
  /** Kill the whole process group when the local side disappears (popen starts a new group). */
  killGroup?: boolean;
  /**
   * Set by the socket server when it handed the client's TCP connection to this process: fd
   * `wireFd` is that socket, read and written both ways, and this is what the server had already
   * read of the client's frames (base64). Stdin is then the server's control stream (see handoff-control.ts).
   */
  handoff?: string;
  /**
   * With `handoff`: the connection comes over the IPC channel instead of being fd `wireFd` (a spare
   * child, started before there was a connection): the child asks for it ('tsnet-wire?') and takes
   * the socket that comes with the answer (handoff.ts's sendWire).
   */
  wireIpc?: boolean;
  /** Local pid for the parent-death watchdog (0: watch nothing). */
  watchPpid?: boolean;
  /** The runtime the spec asked for (`runtime=`): another one refuses the handshake, naming its executable. */
  runtime?: 'node' | 'bun' | 'deno';
  /** Set by the first stage, not sent: the bytes read after the bundle (the first frames). */
  rest?: Uint8Array;
  /** Set by the first stage, not sent: the bundle's worker part, which worker-thread execs run again. */
  src?: Uint8Array;
  /** Set in a worker thread's copy: serve the parent over the thread's port. */
  thread?: boolean;
  /** Set in a worker thread's copy: the parent's channel id counter (worker-thread execs). */
  ids?: Int32Array;
  /** Set by the first stage, not sent: compiles remote code where import() works (see ExecutorScope). */
  construct?: (ctor: new (...args: string[]) => unknown, args: string[]) => unknown;
}
