// A remote runtime started the way popen starts it, but with the bundle and boot config in the
// test's hands: frames on fd 1 (the ssh/socket layout) or fd 3, or a bundle patched to speak
// another protocol version. Real processes, no mocks.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { type BootConfig, bundle, bundleHash, FIRST_STAGE } from '@tsnet/bootstrap';
import { killGroup, type Transport, type TransportExit, type TransportProvider } from '@tsnet/core/transport';

export interface RawRemoteOptions {
  config: BootConfig;
  /** The bundle to boot; the real one by default. */
  code?: Buffer;
}

export function preambleFor(options: RawRemoteOptions): Buffer {
  const code = options.code ?? bundle().code;
  return Buffer.concat([Buffer.from(`TSNET1 ${code.length} ${bundleHash(code)} ${JSON.stringify(options.config)}\n`, 'latin1'), code]);
}

/** Spawns `node -e <first stage>` in its own process group and writes the preamble. */
export function spawnRemote(options: RawRemoteOptions): ChildProcess {
  const child = spawn(process.execPath, ['-e', FIRST_STAGE], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true });
  child.stdin!.on('error', () => {});
  child.stdin!.write(preambleFor(options));
  return child;
}

class RawTransport implements Transport {
  readonly label: string;
  readonly pid: number;
  readonly closed: Promise<TransportExit>;
  readonly #child: ChildProcess;
  readonly #wire: Readable;

  constructor(child: ChildProcess, wireFd: number) {
    this.#child = child;
    this.pid = child.pid!;
    this.label = `raw:${this.pid}`;
    this.#wire = (wireFd === 1 ? child.stdout : child.stdio[3]) as Readable;
    this.closed = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }
  onData(handler: (chunk: Uint8Array) => void): void {
    this.#wire.on('data', handler);
  }
  onDrain(handler: () => void): void {
    this.#child.stdin!.on('drain', handler);
  }
  onStderr(handler: (text: string) => void): void {
    this.#child.stderr!.setEncoding('utf8').on('data', handler);
  }
  write(chunk: Uint8Array): boolean {
    const stdin = this.#child.stdin!;
    return stdin.destroyed || stdin.writableEnded ? true : stdin.write(chunk);
  }
  end(): void {
    if (!this.#child.stdin!.writableEnded) this.#child.stdin!.end();
  }
  async kill(): Promise<TransportExit> {
    killGroup(this.pid);
    return this.closed;
  }
}

/** A transport provider for makeGateway() that boots the given bundle with the given config. */
export function rawRemote(options: RawRemoteOptions): TransportProvider & { pids: number[] } {
  const pids: number[] = [];
  return {
    type: 'raw',
    pids,
    async connect() {
      const child = spawnRemote(options);
      await new Promise((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      pids.push(child.pid!);
      return new RawTransport(child, options.config.wireFd);
    },
  };
}
