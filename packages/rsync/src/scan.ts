/**
 * Walks a tree without following links (lstat) and lists it in pre-order, names sorted: what the
 * sender offers and what the receiver already has. Ignore rules have gitignore semantics (the
 * `ignore` package): `exclude` patterns apply from the root with the lowest precedence (like
 * .git/info/exclude), each `ignoreFiles` file applies to its directory and below, deeper files
 * win, and an ignored directory is not entered (so nothing under it can be re-included, as in
 * git). Entries that vanish during the walk are left out; sockets, FIFOs and devices are listed in
 * `skipped`; our own temporary files are listed in `temps` and never offered.
 */
import { closeSync, type Dirent, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { RSyncError } from './errors.js';
import { type Hasher, hashHex } from './hash.js';
import { CHUNK, type Entry, SMALL_FILE, TEMP_RE } from './protocol.js';

export interface Rules {
  exclude?: readonly string[] | undefined;
  ignoreFiles?: readonly string[] | undefined;
}

export interface ScanOptions extends Rules {
  filter?: ((relPath: string, stat: Stats) => boolean) | undefined;
  /** Hash every file's content (checksum mode). */
  hasher?: Hasher | undefined;
  /** A missing root walks as empty (a receiver's first sync); otherwise it throws RSyncError. */
  missingOk?: boolean | undefined;
}

export interface Scan {
  entries: Entry[];
  skipped: string[];
  /** Paths the filter refused: the receiver must not delete them. */
  protect: string[];
  /** Absolute paths of temporary files an interrupted run left. */
  temps: string[];
}

interface Layer {
  base: string;
  ig: Ignore;
}

export function isIgnored(layers: readonly Layer[], rel: string, isDir: boolean): boolean {
  let result = false;
  for (const l of layers) {
    if (l.base !== '' && !rel.startsWith(l.base)) continue;
    const r = l.ig.test(rel.slice(l.base.length) + (isDir ? '/' : ''));
    if (r.ignored) result = true;
    else if (r.unignored) result = false;
  }
  return result;
}

/** The content hash of a file, read in chunks. Throws what the file system throws. */
export function hashFile(path: string, size: number, hasher: Hasher): string {
  if (size <= SMALL_FILE) return hashHex(hasher, readFileSync(path));
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    hasher.init();
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hasher.update(buf.subarray(0, n));
      pos += n;
    }
    return hasher.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function linkTarget(root: string, realRoot: string, rel: string): string {
  const target = readlinkSync(join(root, rel));
  if (!isAbsolute(target)) return target;
  // An absolute link into the tree becomes relative, so it points into the copy.
  for (const r of [root, realRoot]) {
    const inside = relative(r, target);
    if (inside === '' || (!isAbsolute(inside) && inside !== '..' && !inside.startsWith('../'))) {
      return relative(dirname(join(r, rel)), target) || '.';
    }
  }
  return target;
}

function gone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function scan(root: string, options: ScanOptions = {}): Promise<Scan> {
  const out: Scan = { entries: [], skipped: [], protect: [], temps: [] };
  let realRoot = root;
  try {
    realRoot = realpathSync(root);
    if (!statSync(realRoot).isDirectory()) throw new RSyncError(`cannot sync ${root}: it is not a directory`);
  } catch (error) {
    if (error instanceof RSyncError) throw error;
    // a missing source must not look like an empty one (a sync with delete would empty the destination)
    if (!options.missingOk) throw new RSyncError(`cannot sync ${root}: ${(error as Error).message}`, { cause: error });
  }
  const rootLayer: Layer[] = options.exclude?.length ? [{ base: '', ig: ignore().add([...options.exclude]) }] : [];
  let sinceYield = 0;
  const walk = async (dirRel: string, layers: Layer[]): Promise<void> => {
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dirRel === '' ? root : join(root, dirRel), { withFileTypes: true });
    } catch (error) {
      if (gone(error)) return; // vanished during the walk (or a receiver's missing root)
      throw error;
    }
    dirents.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    let here = layers;
    for (const name of options.ignoreFiles ?? []) {
      if (!dirents.some((d) => d.name === name && !d.isDirectory())) continue;
      try {
        const text = readFileSync(join(root, dirRel, name), 'utf8');
        here = [...here, { base: dirRel === '' ? '' : `${dirRel}/`, ig: ignore().add(text) }];
      } catch (error) {
        if (!gone(error)) throw error;
      }
    }
    for (const d of dirents) {
      const rel = dirRel === '' ? d.name : `${dirRel}/${d.name}`;
      if (TEMP_RE.test(d.name)) {
        out.temps.push(join(root, rel));
        continue;
      }
      let st: Stats;
      try {
        st = lstatSync(join(root, rel));
      } catch (error) {
        if (gone(error)) continue;
        throw error;
      }
      const isDir = st.isDirectory();
      if (here.length > 0 && isIgnored(here, rel, isDir)) continue;
      if (options.filter && !options.filter(rel, st)) {
        out.protect.push(rel);
        continue;
      }
      const mode = st.mode & 0o7777;
      if (isDir) {
        out.entries.push([rel, 'd', mode, 0, st.mtimeMs, null]);
        await walk(rel, here);
      } else if (st.isFile()) {
        let hash: string | null = null;
        if (options.hasher) {
          try {
            hash = hashFile(join(root, rel), st.size, options.hasher);
          } catch (error) {
            if (gone(error)) continue;
            throw error;
          }
        }
        out.entries.push([rel, 'f', mode, st.size, st.mtimeMs, hash]);
      } else if (st.isSymbolicLink()) {
        try {
          out.entries.push([rel, 'l', mode, 0, st.mtimeMs, linkTarget(root, realRoot, rel)]);
        } catch (error) {
          if (!gone(error)) throw error;
        }
      } else out.skipped.push(rel);
      if (++sinceYield >= 2000) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  };
  await walk('', rootLayer);
  return out;
}
