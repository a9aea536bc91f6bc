/**
 * The spawner: an SSH gateway's runtime listens on a Unix socket in a private directory, and a later
 * gateway to the same host reaches it over a `direct-streamlocal` channel of the shared SSH
 * connection instead of opening an exec session. An exec session runs the user's shell, which reads
 * its rc files (bash reads ~/.bashrc for every command sshd runs); a spawned gateway skips that and
 * costs one channel open, `/bin/sh` and the runtime's start.
 *
 * Protocol (every line bounded by MAX_LINE, every connection by REQUEST_MS until its line is in):
 * - the stderr connection sends `TSNET-SPAWN-ERR <token> <id>\n`;
 * - the wire connection sends `TSNET-SPAWN <token> <id> <JSON {script, exit}>\n` and then nothing
 *   until the start script printed its ready marker (so no byte of the bootstrap is read here);
 * - once both are in, `/bin/sh -c script` starts in its own session with the wire as its fd 0 and 1
 *   (the script moves it to fd 3, as over exec) and the stderr connection as fd 2; the spawner then
 *   closes its handle of the wire (close, not shutdown: the child's copy stays open);
 * - when the child exits, `\0<exit> <code> <signal>\n` goes on the stderr connection, which is
 *   then closed: that is the exit status an exec channel would carry;
 * - the script gets this runtime's parent pid as `$1` (the SSH connection's sshd process, which
 *   is the parent of an exec-started runtime) and prints it on its marker line; the client puts it
 *   in the child's BootConfig (`watchPid`), so the child's watchdog ends it with the connection.
 * A wrong token, a malformed line or an unpaired half closes that connection with a `tsnet:` line.
 * The child starts in $HOME (where sshd starts a session) with the spawner's environment as it
 * was at start (the local side hosts spawners only in gateways without env: or nice=); the script
 * re-exports the learned login environment on top, as over exec. The spawner never keeps its
 * runtime alive (unref'd) and removes its directory at exit; the directory also holds its pid, by
 * which a later spawner (50 ms after its start, off the handshake) removes those of runtimes killed
 * by a signal.
 */
import type { ChildProcess } from 'node:child_process';
import type * as net from 'node:net';
import { builtin } from '@tsnet/core/worker';

export interface SpawnerConfig {
  /** Absolute path of the directory to create (mode 0700; an existing one means no spawner). */
  dir: string;
  /** What every request must carry (hex). */
  token: string;
}

const MAX_LINE = 1 << 20;
const REQUEST_MS = 10_000;

/** Constant-time comparison of two hex strings (no node:crypto: it costs a fresh runtime 7 ms). */
function sameToken(a: string, b: string): boolean {
  let d = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) d |= a.charCodeAt(i % (a.length || 1)) ^ b.charCodeAt(i);
  return d === 0;
}

export function startSpawner(config: SpawnerConfig): void {
  const fs = builtin<typeof import('node:fs')>('node:fs');
  try {
    fs.mkdirSync(config.dir, { mode: 0o700 });
  } catch {
    return; // exists already (not ours) or no /tmp: later gateways start over exec
  }
  process.on('exit', () => {
    try {
      fs.rmSync(config.dir, { recursive: true, force: true });
    } catch {
      // gone already
    }
  });
  // A SIGKILL'd runtime cannot remove its directory: the next spawners do, by its pid file.
  fs.writeFileSync(`${config.dir}/pid`, String(process.pid));
  setTimeout(() => sweep(fs, config.dir), 50).unref();
  const env = { ...process.env };
  const home = env.HOME || builtin<typeof import('node:os')>('node:os').homedir();
  /** Halves of a request by id, until both are in. */
  const pending = new Map<string, { wire?: net.Socket; err?: net.Socket; script?: string; exit?: string; timers: NodeJS.Timeout[] }>();
  const { createServer } = builtin<typeof import('node:net')>('node:net');
  const server = createServer((socket) => {
    socket.on('error', () => {});
    let line = '';
    const timer = setTimeout(() => refuse(socket, 'no request in time'), REQUEST_MS);
    timer.unref();
    socket.setEncoding('latin1');
    const onData = (text: string): void => {
      const nl = text.indexOf('\n');
      line += nl === -1 ? text : text.slice(0, nl);
      if (nl === -1 && line.length <= MAX_LINE) return;
      socket.off('data', onData);
      socket.pause();
      if (nl === -1 || nl !== text.length - 1) {
        refuse(socket, 'bad request');
        return;
      }
      onRequest(socket, line, timer);
    };
    socket.on('data', onData);
  });
  const onRequest = (socket: net.Socket, line: string, timer: NodeJS.Timeout): void => {
    const words = line.split(' ');
    if (!sameToken(words[1] ?? '', config.token)) {
      refuse(socket, 'wrong token');
      return;
    }
    const id = words[2] ?? '';
    const entry = pending.get(id) ?? { timers: [] };
    if (words[0] === 'TSNET-SPAWN-ERR' && words.length === 3 && !entry.err) entry.err = socket;
    else if (words[0] === 'TSNET-SPAWN' && !entry.wire) {
      let request: { script?: unknown; exit?: unknown } = {};
      try {
        request = JSON.parse(words.slice(3).join(' ')) as typeof request;
      } catch {
        // refused below
      }
      if (typeof request.script !== 'string' || typeof request.exit !== 'string' || !/^[\w-]+$/.test(request.exit)) {
        refuse(socket, 'bad request');
        return;
      }
      entry.wire = socket;
      entry.script = request.script;
      entry.exit = request.exit;
    } else {
      refuse(socket, 'bad request');
      return;
    }
    // The other half has until this one's timer fires (then both are refused).
    entry.timers.push(timer);
    pending.set(id, entry);
    socket.once('close', () => {
      if (pending.get(id) === entry) pending.delete(id);
    });
    if (!entry.wire || !entry.err) return;
    for (const t of entry.timers) clearTimeout(t);
    pending.delete(id);
    spawnFor(entry.wire, entry.err, entry.script!, entry.exit!);
  };
  const spawnFor = (wire: net.Socket, err: net.Socket, script: string, exit: string): void => {
    let child: ChildProcess;
    try {
      // $1: our parent, the SSH connection's sshd process, which the child's watchdog watches.
      child = builtin<typeof import('node:child_process')>('node:child_process').spawn('/bin/sh', ['-c', script, 'sh', String(process.ppid)], {
        stdio: [wire, wire, err],
        detached: true,
        env,
        cwd: home,
      });
    } catch (error) {
      refuse(wire, `cannot start /bin/sh: ${(error as Error).message}`);
      err.destroy();
      return;
    }
    child.on('error', () => {}); // exit follows (code 127 or null)
    wire.destroy(); // our handle only: the child holds the socket now
    child.on('exit', (code, signal) => {
      err.end(`\0${exit} ${code ?? '-'} ${signal ?? '-'}\n`);
      setTimeout(() => err.destroy(), 1000).unref();
    });
    err.resume(); // nothing more is sent on it
    err.unref();
    child.unref();
  };
  server.on('error', () => {});
  server.listen(`${config.dir}/s`);
  server.unref();
}

/** Removes the directories of spawners whose runtime is gone (beside `own`, ours only). */
function sweep(fs: typeof import('node:fs'), own: string): void {
  const parent = own.slice(0, own.lastIndexOf('/'));
  const prefix = own.slice(parent.length + 1).replace(/[0-9a-f]+$/, '');
  try {
    for (const name of fs.readdirSync(parent)) {
      const dir = `${parent}/${name}`;
      if (!name.startsWith(prefix) || dir === own) continue;
      try {
        const st = fs.lstatSync(dir);
        if (!st.isDirectory() || st.uid !== process.getuid?.()) continue;
        process.kill(Number(fs.readFileSync(`${dir}/pid`, 'latin1')), 0);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } catch {
    // an unreadable /tmp: nothing to sweep
  }
}

function refuse(socket: net.Socket, why: string): void {
  socket.end(`tsnet: spawner: ${why}\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
