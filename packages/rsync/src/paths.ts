/**
 * Names from the other side are untrusted. checkList() accepts a list only if every path is
 * relative, `/`-separated, free of `.`, `..`, empty components and NUL, unique, and under a
 * directory entry that came before it; it throws UnsafePathError naming the first bad path,
 * before anything is written. Writes then go only to join(root, path) whose parents the
 * receiver made real directories (links in the way are replaced, never followed).
 */
import { ProtocolError } from '@tsnet/core';
import { UnsafePathError } from './errors.js';
import { type Entry, MODE, MTIME, PATH, SIZE, TYPE } from './protocol.js';

const MAX_PATH = 4096;

export function checkName(path: unknown): string {
  if (typeof path !== 'string') throw new ProtocolError(`expected a path string, got ${typeof path}`);
  if (path.length === 0) throw new UnsafePathError(path, 'it is empty');
  if (path.length > MAX_PATH) throw new UnsafePathError(path.slice(0, 80), `it is longer than ${MAX_PATH} characters`);
  if (path.includes('\0')) throw new UnsafePathError(path, 'it contains a NUL character');
  if (path.startsWith('/')) throw new UnsafePathError(path, 'it is absolute');
  for (const part of path.split('/')) {
    if (part === '') throw new UnsafePathError(path, 'it has an empty component');
    if (part === '.' || part === '..') throw new UnsafePathError(path, `it has a "${part}" component`);
  }
  return path;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Validates one batch of entries; `dirs` carries the directory paths seen so far across batches. */
export function checkEntries(entries: unknown, dirs: Set<string>, seen: Set<string>): Entry[] {
  if (!Array.isArray(entries)) throw new ProtocolError('the file list is not an array');
  for (const e of entries as unknown[]) {
    if (!Array.isArray(e) || e.length !== 6) throw new ProtocolError('a file list entry is not [path, type, mode, size, mtime, extra]');
    const path = checkName(e[PATH]);
    const type = e[TYPE];
    if (type !== 'f' && type !== 'd' && type !== 'l') throw new ProtocolError(`entry ${JSON.stringify(path)} has an unknown type ${String(type)}`);
    if (!isCount(e[MODE]) || e[MODE] > 0o7777) throw new ProtocolError(`entry ${JSON.stringify(path)} has a bad mode`);
    if (!isCount(e[SIZE])) throw new ProtocolError(`entry ${JSON.stringify(path)} has a bad size`);
    if (typeof e[MTIME] !== 'number' || !Number.isFinite(e[MTIME])) throw new ProtocolError(`entry ${JSON.stringify(path)} has a bad mtime`);
    if (type === 'l' && (typeof e[5] !== 'string' || e[5].length === 0 || e[5].includes('\0'))) {
      throw new ProtocolError(`link ${JSON.stringify(path)} has no valid target`);
    }
    if (seen.has(path)) throw new UnsafePathError(path, 'it appears twice in the list');
    const parent = parentOf(path);
    if (parent !== '' && !dirs.has(parent)) {
      throw new UnsafePathError(path, `its parent ${JSON.stringify(parent)} is not a directory listed before it`);
    }
    seen.add(path);
    if (type === 'd') dirs.add(path);
  }
  return entries as Entry[];
}

/** Paths of a `protect` or `skipped` list: names only, checked the same way. */
export function checkNames(names: unknown): string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new ProtocolError('expected a list of paths');
  return names.map(checkName);
}
