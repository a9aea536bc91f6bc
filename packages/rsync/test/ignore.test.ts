/**
 * Ignore rules against git itself: the same tree, the same .gitignore files and exclude patterns
 * (as .git/info/exclude), and the files a sync copies must be exactly those git does not ignore
 * (`git ls-files --others --exclude-standard`, and `git check-ignore` on every path).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Gateway, makeGateway } from '@tsnet/core';
import '@tsnet/transport-popen';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { pullDir, RSync } from '../src/index.js';
import { allNames, readTree, tempDir, write } from './helpers.js';

let gw: Gateway;
beforeAll(async () => {
  gw = await makeGateway('popen');
});
afterAll(() => gw?.exit());

const IGNORES: Record<string, string> = {
  '.gitignore': [
    '*.log',
    '!keep.log',
    '/build/',
    'node_modules',
    'docs/**/*.tmp',
    'dironly/',
    '\\#hash',
    '*.o',
    '# a comment',
    '',
    'trailing-space\\ ',
    'a?c.txt',
    '[xy]z.txt',
  ].join('\n'),
  'sub/.gitignore': ['!important.o', 'local-only', '/anchored.txt', 'deep/**/leaf'].join('\n'),
  'sub/deeper/.gitignore': ['!*.log', 'ignored-dir/', '!/local-only'].join('\n'),
};
const EXCLUDE = ['secret*', '!secret-but-kept.txt', 'tmp/'];
const FILES = [
  'a.log',
  'keep.log',
  'plain.txt',
  'build/x',
  'sub/build/x',
  'node_modules/pkg/index.js',
  'sub/node_modules/y',
  'docs/a/b/c.tmp',
  'docs/c.tmp',
  'docs/readme.md',
  'dironly/f',
  'sub/dironly',
  '#hash',
  'x.o',
  'sub/important.o',
  'sub/deeper/important.o',
  'sub/local-only',
  'sub/deeper/local-only',
  'sub/anchored.txt',
  'sub/deeper/anchored.txt',
  'sub/deeper/z.log',
  'sub/deeper/ignored-dir/f',
  'sub/deeper/ignored-dir',
  'secret.txt',
  'sub/secret2',
  'secret-but-kept.txt',
  'tmp/t',
  'sub/tmp',
  'trailing-space ',
  'abc.txt',
  'ac.txt',
  'xz.txt',
  'zz.txt',
  'sub/deep/a/b/leaf',
  'sub/deep/leaf',
  'sub/leaf',
  'build-not-dir',
  'keep.log.d/inner',
];

function makeTree(root: string): void {
  for (const f of FILES) {
    if (f === 'sub/deeper/ignored-dir') continue; // a directory, made by its file
    write(root, f, `content of ${f}\n`);
  }
  for (const [p, text] of Object.entries(IGNORES)) write(root, p, `${text}\n`);
  mkdirSync(join(root, 'empty-dir'));
}

function gitView(root: string): { listed: string[]; checkIgnored: Set<string> } {
  const git = (args: string[], input?: string) =>
    execFileSync('git', ['-c', 'core.excludesFile=/dev/null', ...args], { cwd: root, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  git(['init', '-q']);
  writeFileSync(join(root, '.git/info/exclude'), `${EXCLUDE.join('\n')}\n`);
  const listed = git(['ls-files', '--others', '--exclude-standard', '-z']).split('\0').filter(Boolean).sort();
  const every = allNames(root).filter((p) => !p.startsWith('.git/') && p !== '.git');
  let out = '';
  try {
    out = git(['check-ignore', '--no-index', '--stdin', '-z'], `${every.join('\0')}\0`);
  } catch (error) {
    out = (error as { stdout?: string }).stdout ?? ''; // exit 1: nothing ignored
  }
  return { listed, checkIgnored: new Set(out.split('\0').filter(Boolean)) };
}

test('exclude and .gitignore files: exactly the files git does not ignore are copied (push and pull)', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  makeTree(source);
  const { listed, checkIgnored } = gitView(source);
  expect(listed.length).toBeGreaterThan(10);
  expect(checkIgnored.size).toBeGreaterThan(10);

  const rs = new RSync(source, { exclude: [...EXCLUDE, '/.git/'], ignoreFiles: ['.gitignore'] });
  rs.addTarget(gw, join(t.path, 'pushed'));
  await rs.send();
  const filesOf = (root: string) =>
    [...readTree(root)]
      .filter(([, n]) => n.type !== 'd')
      .map(([p]) => p)
      .sort();
  const pushed = filesOf(join(t.path, 'pushed'));
  expect(pushed).toEqual(listed);

  // check-ignore on every path on disk: a copied file is never ignored, and every file git does
  // not ignore (itself or through a directory) is copied.
  const onDisk = [...readTree(source)].filter(([p, n]) => n.type === 'f' && !p.startsWith('.git/')).map(([p]) => p);
  const ignoredByGit = (p: string) => {
    const parts = p.split('/');
    for (let k = 1; k <= parts.length; k++) if (checkIgnored.has(parts.slice(0, k).join('/'))) return true;
    return false;
  };
  expect(onDisk.filter((p) => !ignoredByGit(p)).sort()).toEqual(pushed);
  expect(readTree(join(t.path, 'pushed')).get('empty-dir')?.type).toBe('d');

  await pullDir(gw, source, join(t.path, 'pulled'), { exclude: [...EXCLUDE, '/.git/'], ignoreFiles: ['.gitignore'] });
  expect(filesOf(join(t.path, 'pulled'))).toEqual(listed);
});

test('delete keeps what the rules exclude on the destination', async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, 'a.txt', 'a');
  write(dest, 'stale.txt', 'old');
  write(dest, 'cache/build.log', 'mine');
  write(dest, 'notes.secret', 'mine');
  write(dest, 'gone/deeper/file', 'stale');
  const rs = new RSync(source, { exclude: ['*.log', '*.secret'] });
  rs.addTarget(gw, dest, { delete: true });
  const report = await rs.send();
  expect(allNames(dest)).toEqual(['a.txt', 'cache', 'cache/build.log', 'notes.secret']);
  expect(report.targets[0]!.deleted).toEqual(['gone', 'gone/deeper', 'gone/deeper/file', 'stale.txt']);
});

test("an entry the destination's own ignore files exclude is still compared and replaced, not tripped over", async () => {
  using t = tempDir();
  const source = join(t.path, 'source');
  const dest = join(t.path, 'dest');
  write(source, '.gitignore', '*.tmp\n');
  write(source, 'build/out.txt', 'new');
  write(dest, '.gitignore', 'build/\n');
  write(dest, 'build/out.txt', 'old', Date.now() - 3_600_000);
  const rs = new RSync(source, { ignoreFiles: ['.gitignore'] });
  rs.addTarget(gw, dest, { delete: true });
  await rs.send();
  expect(readTree(dest).get('build/out.txt')?.digest).toBe(readTree(source).get('build/out.txt')?.digest);
  expect(allNames(dest)).toEqual(['.gitignore', 'build', 'build/out.txt']);
});
