/**
 * Compile-time checks: tsc on the fixtures in fixtures/types must report an error on every line
 * marked `// error:` and on no other line (typed kwargs of remoteExec, call() arguments and result,
 * channels typed per direction).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const dir = fileURLToPath(new URL('./fixtures/types/', import.meta.url));
const root = fileURLToPath(new URL('../', import.meta.url));

test('tsc rejects wrong kwargs, call() arguments and channel item types, and accepts the right ones', async () => {
  const output = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-p', `${dir}tsconfig.json`, '--pretty', 'false'],
      { cwd: root, timeout: 60_000 },
      (_error, stdout, stderr) => resolve(stdout + stderr),
    );
  });
  const reported = new Set<string>();
  for (const m of output.matchAll(/fixtures\/types\/([\w-]+\.ts)\((\d+),\d+\): error TS\d+/g)) reported.add(`${m[1]}:${m[2]}`);
  const expected = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    readFileSync(`${dir}${file}`, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.includes('// error:')) expected.add(`${file}:${i + 1}`);
      });
  }
  expect(expected.size).toBeGreaterThan(5);
  expect([...reported].sort(), output).toEqual([...expected].sort());
});
