// Module sources need esbuild, an optional peer dependency. test-e2e/packaging.test.ts checks a real
// install without it; these check the two ways loading it can fail, through the loader parameter,
// with the errors Node's resolver really gives.
import { SourceError } from '@tsnet/core';
import { expect, test } from 'vitest';
import { bundleModule } from '../src/exec/bundle-module.js';

const url = new URL('./fixtures/unused.mjs', import.meta.url);

test('without esbuild a module source is a SourceError that says npm install esbuild', async () => {
  // what import() of a package that is not installed rejects with
  const notInstalled = () => import(`esbuild-not-installed-${process.pid}`) as Promise<typeof import('esbuild')>;
  const error = await bundleModule(url, notInstalled).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SourceError);
  expect(error).toMatchObject({ code: 'TSNET_ERR_SOURCE', message: expect.stringContaining('not installed: npm install esbuild') });
  expect((error as SourceError).cause).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
});

test('an esbuild that is installed but does not load says so, with the cause', async () => {
  const broken = () => Promise.reject(new Error('The package "@esbuild/linux-x64" could not be found'));
  const error = await bundleModule(url, broken).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SourceError);
  expect(error).toMatchObject({ message: expect.stringContaining('esbuild is installed but does not load (The package "@esbuild/linux-x64"') });
});
