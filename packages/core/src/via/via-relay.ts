import type { Channel } from '../channel/channel.js';

/** What the local side tells the relay (kwargs of its remoteExec). */
export interface RelayArgs {
  /** Control channel: relay → local `['spawned', pid]`, `['stdout'|'stderr', text]`, `['exit', code, signal]`; local → relay `'kill'`. */
  ctl: Channel;
  /** Program to start; default: the runtime the relay runs in (`process.execPath` on the master's host). */
  command?: string;
  args: string[];
  /** Working directory, resolved on the master's host and created if missing. */
  chdir?: string;
  /** Added to the master's environment. */
  env: Record<string, string>;
  /** Added to the niceness of the new process. */
  nice?: number;
  /** The child's fd that carries frames out (3 for a Node runtime started by the first stage). */
  wireFd: number;
}

/**
 * Runs on the master's host, shipped with remoteExec(): starts a process there (detached, so it has
 * a process group of its own) and relays its wire. Bytes from the local side arrive as Uint8Array
 * items on `channel` and go to the child's stdin (`null` means end of input); bytes from the
 * child's wire fd go back as items. Both directions follow the channel's credit, so a slow side
 * holds the other back. When the control channel ends for any reason (the local side or the
 * master's gateway went away), the child's process group is killed.
 *
 * It must be self-contained: only globals and `require` (remoteExec checks).
 */
export async function tsnetViaRelay(channel: Channel, kw: RelayArgs): Promise<void> {
  const ctl = kw.ctl;
  let killTree = (): void => {};
  try {
    const cp = require('node:child_process') as typeof import('node:child_process');
    const os = require('node:os') as typeof import('node:os');
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const command = kw.command ?? process.execPath;
    let cwd = process.cwd();
    if (kw.chdir) {
      cwd = path.resolve(kw.chdir);
      // mkdir -p one level at a time: Node's recursive mkdir loops for ever under /proc (Node 20).
      const missing: string[] = [];
      for (let p = cwd; !fs.existsSync(p) && path.dirname(p) !== p; p = path.dirname(p)) missing.push(p);
      for (const p of missing.reverse()) {
        try {
          fs.mkdirSync(p);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
            throw new Error(`cannot create chdir=${cwd} on ${os.hostname()}: ${(error as Error).message}`);
        }
      }
    }
    const child = cp.spawn(command, kw.args, {
      cwd,
      env: { ...process.env, ...kw.env },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const e = new Error(`cannot start ${JSON.stringify(command)} on ${os.hostname()}: ${error.message}`) as Error & { code?: string };
        if (error.code !== undefined) e.code = error.code;
        reject(e);
      };
      child.once('error', onError);
      child.once('spawn', () => {
        child.removeListener('error', onError);
        resolve();
      });
    });
    const pid = child.pid as number;
    let exited = false;
    killTree = () => {
      if (exited) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          child.kill('SIGKILL');
        } catch {
          // gone already
        }
      }
    };
    if (kw.nice) {
      try {
        os.setPriority(pid, Math.min(19, os.getPriority(pid) + kw.nice));
      } catch (error) {
        killTree();
        throw new Error(`cannot apply nice=${kw.nice} on ${os.hostname()}: ${(error as Error).message}`);
      }
    }
    const wire = child.stdio[kw.wireFd] as import('node:stream').Readable;
    const stdin = child.stdin as import('node:stream').Writable;
    stdin.on('error', () => {}); // EPIPE once the child is gone: its exit says why
    wire.on('error', () => {});

    // Everything the child wrote must be relayed before its exit is reported, so wait for the end of
    // its wire, stdout and stderr (bounded: a grandchild could hold a pipe), then for its exit.
    const ended = (s: import('node:stream').Readable) =>
      new Promise<void>((resolve) => {
        s.once('end', resolve);
        s.once('close', resolve);
      });
    const streamsDone = Promise.all([ended(wire), ended(child.stdout!), ended(child.stderr!)]);
    const exitInfo = new Promise<[number | null, string | null]>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = true;
        // What it started in its process group goes with it.
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // nobody left
        }
        resolve([code, signal]);
      });
    });

    let dropping = false;
    wire.on('data', (chunk: Buffer) => {
      if (dropping) return;
      wire.pause();
      channel.send(chunk).then(
        () => wire.resume(),
        () => {
          // the local side stopped listening: drain and drop, so the child never blocks on a full pipe
          dropping = true;
          wire.resume();
        },
      );
    });
    // With the wire on stdout (wireFd 1), only stderr is output.
    for (const name of kw.wireFd === 1 ? (['stderr'] as const) : (['stdout', 'stderr'] as const)) {
      const s = child[name] as import('node:stream').Readable;
      s.setEncoding('utf8');
      s.on('error', () => {});
      s.on('data', (text: string) => {
        s.pause();
        ctl.send([name, text]).then(
          () => s.resume(),
          () => s.resume(),
        );
      });
    }

    const end = {};
    channel.setCallback(
      (item: unknown) => {
        if (item === end || item === null) {
          if (!stdin.destroyed && !stdin.writableEnded) stdin.end();
          return undefined;
        }
        if (exited || stdin.destroyed) return undefined;
        if (stdin.write(item as Uint8Array)) return undefined;
        return new Promise<void>((resolve) => {
          const done = () => {
            stdin.removeListener('drain', done);
            stdin.removeListener('close', done);
            resolve();
          };
          stdin.once('drain', done);
          stdin.once('close', done);
        });
      },
      { endmarker: end },
    );
    ctl.setCallback(
      (message: unknown) => {
        if (message === 'kill' || message === end) killTree();
      },
      { endmarker: end },
    );
    await ctl.send(['spawned', pid]);

    const [code, signal] = await exitInfo;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([streamsDone, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    for (const s of [child.stdout, child.stderr, wire]) s?.destroy();
    await channel.close().catch(() => {});
    await ctl.send(['exit', code, signal]).catch(() => {});
    await ctl.close().catch(() => {});
  } catch (error) {
    // Never leave the process behind; the control channel carries the error too.
    killTree();
    await ctl.close(error as Error).catch(() => {});
    throw error;
  }
}
