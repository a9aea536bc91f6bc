/**
 * The files a run covers: with no arguments, what `node --test` (Node 20) runs in `cwd`, i.e. its
 * default patterns, `node_modules` excluded, dot-directories included; otherwise each argument is
 * an existing file (taken as it is, even under node_modules) or a glob. Absolute paths, sorted,
 * each once. Matching nothing is an empty list (the caller says so).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { glob } from 'tinyglobby';

/** Node 20's `kDefaultPattern` list (lib/internal/test_runner/utils.js). */
export const DEFAULT_PATTERNS = [
  '**/*.test.?(c|m)js',
  '**/*-test.?(c|m)js',
  '**/*_test.?(c|m)js',
  '**/test-*.?(c|m)js',
  '**/test.?(c|m)js',
  '**/test/**/*.?(c|m)js',
];

export async function findTestFiles(args: string[], cwd: string): Promise<string[]> {
  const found = new Set<string>();
  const patterns: string[] = [];
  for (const arg of args) {
    const path = resolve(cwd, arg);
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) found.add(path);
    else patterns.push(arg);
  }
  if (args.length === 0) patterns.push(...DEFAULT_PATTERNS);
  if (patterns.length > 0) {
    const matched = await glob(patterns, { cwd, absolute: true, dot: true, onlyFiles: true, ignore: ['**/node_modules/**'], expandDirectories: false });
    for (const file of matched) found.add(resolve(file));
  }
  return [...found].sort();
}
