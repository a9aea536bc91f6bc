/**
 * Every `js` snippet of README.md runs as written in a Node 20 `.mjs` file (the local runtime),
 * after the lines the README names: `import { makeGateway, Group } from '@tsnet/core'` unless the
 * snippet imports it itself, and `const gw = await makeGateway()` (exited at the end) where it uses
 * `gw` without making it. Snippets that need an SSH host or a socket server are not run. The
 * module files the snippets ship (remote1.ts, …) are the ones in examples/.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const dir = `${root}.tmp/readme-snippets/`;
const readme = readFileSync(`${root}README.md`, 'utf8');
const snippets = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m, i) => ({
  n: i + 1,
  line: readme.slice(0, m.index).split('\n').length,
  code: m[1]!,
}));

mkdirSync(dir, { recursive: true });
cpSync(`${root}examples`, dir, { recursive: true, filter: (src) => !src.endsWith('.mjs') });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function program(code: string): string {
  const imports = /from '@tsnet\/core'/.test(code) ? '' : "import { makeGateway, Group } from '@tsnet/core';\n";
  if (!/\bgw\./.test(code) || /\bconst gw = await makeGateway\(/.test(code)) return `${imports}${code}`;
  return `${imports}const gw = await makeGateway();\ntry {\n${code}\n} finally {\n  await gw.exit();\n}\n`;
}

describe('README snippets run as written on Node 20 (.mjs)', () => {
  expect(snippets.length).toBeGreaterThan(12);
  for (const s of snippets) {
    const remote = /makeGateway\('(ssh|socket)=/.test(s.code);
    test(`snippet ${s.n} (README.md line ${s.line})${remote ? ': needs a host, checked for syntax only' : ''}`, async () => {
      const file = `${dir}snippet-${s.n}.mjs`;
      writeFileSync(file, program(s.code));
      const args = remote ? ['--check', file] : [file];
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = execFile(process.execPath, args, { cwd: dir, timeout: 30_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
        child.stdin?.end();
      });
      expect(result, result.out).toMatchObject({ code: 0 });
    });
  }
});
