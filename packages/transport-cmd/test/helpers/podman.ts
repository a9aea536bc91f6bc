/**
 * A podman container for tests, made from a local root file system (`podman run -d --rootfs DIR`),
 * with a private store in a temp dir. On these machines podman needs runc, the cgroupfs cgroup
 * manager, no default ulimits and the vfs storage driver: a `containers.conf` in the temp dir
 * (through CONTAINERS_CONF) and a wrapper script `podman` that passes the store's flags. The
 * wrapper is what gateways get as `podman-bin=` (or `docker-bin=`: docker's CLI has the same
 * shape), here and through via=, so nothing outside the temp dir is configured or touched.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Container {
  name: string;
  /** The wrapper script: `podman` with this test's store and config. */
  bin: string;
  /** Runs the wrapper with these arguments; resolves with stdout. */
  podman(...args: string[]): Promise<string>;
  /** Pids (inside the container) of the processes whose command line contains `text`. */
  processes(text: string): Promise<number[]>;
  remove(): Promise<void>;
}

/** Pids of the processes (other than zombies) whose command line names `dir`. */
function usersOf(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(dir) && !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'latin1'))) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export async function startContainer(rootfs: string, name = `tsnet-test-${process.pid}`): Promise<Container> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-podman-'));
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    ['[containers]', 'default_ulimits = []', '[engine]', 'runtime = "runc"', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', ''].join('\n'),
  );
  const bin = join(dir, 'podman');
  writeFileSync(
    bin,
    [
      '#!/bin/sh',
      `CONTAINERS_CONF='${conf}'; export CONTAINERS_CONF`,
      `exec podman --root '${dir}/storage' --runroot '${dir}/run' --tmpdir '${dir}/tmp' --storage-driver vfs "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(bin, 0o755);
  const podman = async (...args: string[]) => (await run(bin, args, { encoding: 'utf8', timeout: 60_000 })).stdout;
  try {
    await podman('run', '-d', '--name', name, '--network', 'none', '--rootfs', rootfs, '/usr/bin/node', '-e', 'setInterval(()=>{},1<<30)');
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name,
    bin,
    podman,
    async processes(text) {
      const out = await podman('top', name, 'pid', 'args');
      return out
        .split('\n')
        .slice(1)
        .filter((l) => l.includes(text))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
    },
    async remove() {
      await podman('rm', '-f', '-t', '0', name).catch(() => {});
      // conmon and the `podman container cleanup` it starts per exec session still write in the
      // store for a moment: wait (bounded) until no process names the store, then remove it.
      const until = Date.now() + 10_000;
      while (usersOf(dir).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}
