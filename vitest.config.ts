import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const projects = ['core', 'bootstrap', 'transport-popen', 'transport-ssh', 'transport-socket', 'transport-cmd', 'rsync', 'cli', 'test'];
const sourceCondition = { conditions: ['@tsnet/source'] };

export default defineConfig({
  test: {
    projects: [
      ...projects.map((name) => ({
        extends: true as const,
        resolve: sourceCondition,
        ssr: { resolve: sourceCondition },
        test: {
          name,
          root: fileURLToPath(new URL(`./packages/${name}/`, import.meta.url)),
          include: ['test/**/*.test.ts'],
          passWithNoTests: true,
        },
      })),
      {
        extends: true as const,
        resolve: sourceCondition,
        ssr: { resolve: sourceCondition },
        test: {
          name: 'e2e',
          root: fileURLToPath(new URL('./test-e2e/', import.meta.url)),
          include: ['**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
