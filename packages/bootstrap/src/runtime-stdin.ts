/**
 * The wire's input (fd 0) on Bun and Deno, which have neither Node's libuv pipe handles
 * (`process.binding('pipe_wrap')`, see RawPipe) nor, on Bun, a `net.Socket({ fd: 0 })` that reads
 * a pipe to its end. Each runtime's own binary reader of stdin is used instead, the one the tests
 * prove (test-e2e/runtimes-*.test.ts: the channel contract, the value table and bulk transfers):
 *
 * - Deno: `Deno.stdin.read(buffer)`, which reads into memory we name: the reader's own 256 KiB
 *   buffer, or in place into the rest of a large payload (as RawPipe does on Node).
 * - Bun: `Bun.stdin.stream()` (native, not `process.stdin`, whose binary reads have open hang bugs):
 *   chunks are handed to `onChunk` as they come.
 *
 * End of input calls `onEnd()` once; a read error calls `onEnd(error)` once; reading stops either
 * way. Returns undefined on other runtimes (Node has better: RawPipe or net.Socket).
 */
import { type DirectReadHooks, nextReadBuffer, READ_SIZE } from '@tsnet/core/internal';

export interface StdinReader {
  read(hooks: DirectReadHooks, onEnd: (error?: Error) => void): void;
}

interface DenoStdin {
  read(p: Uint8Array): Promise<number | null>;
}
interface BunStdin {
  stream(): ReadableStream<Uint8Array>;
}

export function runtimeStdin(): StdinReader | undefined {
  const g = globalThis as { Deno?: { stdin?: DenoStdin }; Bun?: { stdin?: BunStdin } };
  const deno = g.Deno?.stdin;
  if (deno && typeof deno.read === 'function') return denoStdin(deno);
  const bun = g.Bun?.stdin;
  if (bun && typeof bun.stream === 'function') return bunStdin(bun);
  return undefined;
}

function denoStdin(stdin: DenoStdin): StdinReader {
  return {
    read(hooks, onEnd) {
      const own = new Uint8Array(READ_SIZE);
      void (async () => {
        for (;;) {
          const into = nextReadBuffer(hooks, own);
          const n = await stdin.read(into);
          if (n === null) return onEnd();
          if (n === 0) continue;
          if (into === own) hooks.onChunk(own.subarray(0, n));
          else hooks.landed!(n);
        }
      })().catch((error: unknown) => onEnd(error instanceof Error ? error : new Error(String(error))));
    },
  };
}

function bunStdin(stdin: BunStdin): StdinReader {
  return {
    read(hooks, onEnd) {
      const reader = stdin.stream().getReader();
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return onEnd();
          if (value.length > 0) hooks.onChunk(value);
        }
      })().catch((error: unknown) => onEnd(error instanceof Error ? error : new Error(String(error))));
    },
  };
}
