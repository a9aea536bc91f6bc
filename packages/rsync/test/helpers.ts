// Trees on disk for the rsync tests: build one from a spec, read one back with everything a sync
// must carry (type, mode, size, mtime to the ms, content digest, link target).
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Node {
  type: 'f' | 'd' | 'l' | 'x';
  mode: number;
  size: number;
  mtimeMs: number;
  digest?: string;
  link?: string;
}

export function tempDir(prefix = 'tsnet-rsync-'): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** Reads a tree: relative path → node, without following links. */
export function readTree(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const node: Node = {
        type: st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'x',
        mode: st.mode & 0o7777,
        size: st.isFile() ? st.size : 0,
        mtimeMs: Math.floor(st.mtimeMs),
      };
      if (node.type === 'f')
        node.digest = createHash('sha1')
          .update(readFileSync(join(root, p)))
          .digest('hex');
      if (node.type === 'l') node.link = readlinkSync(join(root, p));
      out.set(p, node);
      if (node.type === 'd') walk(p);
    }
  };
  walk('');
  return out;
}

/** The tree as an object for toEqual; link mtimes and modes left out (platform-dependent). */
export function snapshot(root: string, options: { times?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, n] of readTree(root)) {
    if (n.type === 'l') out[p] = { type: 'l', link: n.link };
    else out[p] = { type: n.type, mode: n.mode, size: n.size, digest: n.digest, ...(options.times === false || n.type === 'd' ? {} : { mtimeMs: n.mtimeMs }) };
  }
  return out;
}

export function write(root: string, rel: string, content: string | Uint8Array, mtimeMs?: number): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  if (mtimeMs !== undefined) utimesSync(p, mtimeMs / 1000, mtimeMs / 1000);
}

export function link(root: string, rel: string, target: string): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  symlinkSync(target, p);
}

/** Every file name under root, recursively (temporaries included). */
export function allNames(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

/** A tree with what a sync must carry: nested and empty directories, modes, links, a file large enough for a delta. */
export function makeTree(root: string): void {
  for (let i = 0; i < 40; i++) write(root, `d${i % 4}/f${i}.txt`, `file ${i} `.repeat(1 + i * 13));
  write(root, 'big.bin', Buffer.alloc(3 << 20, 0x11));
  mkdirSync(join(root, 'empty/nested'), { recursive: true });
  write(root, 'exec.sh', '#!/bin/sh\n');
  chmodSync(join(root, 'exec.sh'), 0o755);
  symlinkSync('d0/f0.txt', join(root, 'inside'));
  symlinkSync('/etc/hostname', join(root, 'outside'));
}

export function changeBig(root: string, seed: number): void {
  const big = Buffer.alloc(3 << 20, 0x11);
  big.fill(seed, 1 << 20, (1 << 20) + 50_000);
  write(root, 'big.bin', big);
  utimesSync(join(root, 'big.bin'), 2_000_000 + seed, 2_000_000 + seed);
}
