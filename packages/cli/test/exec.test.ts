/** `tsnet exec` as a child process, on real popen gateways. */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runTsnet } from './helpers.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('tsnet exec', () => {
  test('prints each item as it arrives: strings as they are, other values inspected', async () => {
    const r = await runTsnet(['exec', '-e', "await channel.send('hello'); await channel.send({ n: 1, big: 2n, m: new Map([[1, 2]]) }); await channel.send(3)"]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n{ n: 1, big: 2n, m: Map(1) { 1 => 2 } }\n3\n');
  });

  test('--json: one line per item with the gateway id, on every gateway of --tx 2*popen --tx popen//id=w', async () => {
    const r = await runTsnet([
      'exec',
      '--tx',
      '2*popen',
      '--tx',
      'popen//id=w',
      '--json',
      '-e',
      'await channel.send({ pid: process.pid, k: kwargs.k }); await channel.send(new Uint8Array([1, 2, 3]))',
      '--kwargs',
      '{"k": [1, "x"]}',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    for (const id of ['gw0', 'gw1', 'w']) {
      const mine = lines.filter((l) => l.gateway === id);
      expect(mine).toHaveLength(2);
      expect(mine[0].item.k).toEqual([1, 'x']);
      expect(typeof mine[0].item.pid).toBe('number');
      expect(mine[1].item).toEqual({ base64: 'AQID' });
    }
    expect(new Set(lines.map((l) => l.item.pid).filter(Boolean)).size).toBe(3);
  });

  test('several gateways: each text line starts with [gwN]; remote console output goes to stdout (stderr with --json)', async () => {
    const code = "console.log('from console'); await channel.send('a\\nb')";
    const text = await runTsnet(['exec', '--tx', '2*popen', '-e', code]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n').sort();
    expect(lines).toEqual(['[gw0] a', '[gw0] b', '[gw0] from console', '[gw1] a', '[gw1] b', '[gw1] from console']);
    const json = await runTsnet(['exec', '--json', '-e', code]);
    expect(json.stdout).toBe('{"gateway":"gw0","item":"a\\nb"}\n');
    expect(json.stderr).toBe('from console\n');
  });

  test('a remote error: exit code 1 with its name, message and stack on stderr (and a JSON line with --json)', async () => {
    const r = await runTsnet(['exec', '-e', "await channel.send(1);\nfunction inner() { throw new TypeError('remote boom') }\ninner()"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('1\n');
    expect(r.stderr).toContain('tsnet exec: the code failed on gw0 (popen):');
    expect(r.stderr).toContain('TypeError: remote boom');
    expect(r.stderr).toMatch(/at inner \(/);
    const j = await runTsnet(['exec', '--json', '-e', "throw new SyntaxError('nope')"]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ gateway: 'gw0', error: { name: 'SyntaxError', message: 'nope' } });
  });

  test('a gateway whose runtime exits: exit code 1 naming the exit code', async () => {
    const r = await runTsnet(['exec', '-e', 'process.exit(7)']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/gw0.*code 7/s);
  });

  test('a TypeScript module FILE with a relative import runs its default export with --kwargs', async () => {
    const r = await runTsnet(['exec', fixture('remote-sum.ts'), '--kwargs', '{"values": [1, 2, 3.5]}', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ gateway: 'gw0', item: { total: 6.5, doubled: 13 } });
  });

  test('a module that throws: the stack names the .ts file', async () => {
    const r = await runTsnet(['exec', fixture('failing.ts')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('RangeError: value out of range in the fixture');
    expect(r.stderr).toContain('failing.ts');
  });

  test('a plain script FILE, and code from stdin with "-"', async () => {
    const file = await runTsnet(['exec', fixture('script.js'), '--kwargs', '{"n": 2}']);
    expect(file.stdout).toBe('line 0\nline 1\n');
    const stdin = await runTsnet(['exec', '-'], { input: 'await channel.send(6 * 7)' });
    expect(stdin.stdout).toBe('42\n');
  });

  test('bytes are written raw (one gateway): exec can cat a remote file', async () => {
    const r = await runTsnet(['exec', '-e', "await channel.send(new TextEncoder().encode('raw\\u00e9'))"]);
    expect(r.stdout).toBe('rawé');
  });

  test.each([
    [['exec'], /^tsnet exec: nothing to run: give -e CODE or FILE/],
    [['exec', '-e', '1', 'file.js'], /^tsnet exec: give -e CODE or FILE, not both/],
    [['exec', '-e', '1', '--kwargs', '{oops'], /^tsnet exec: --kwargs is not valid JSON/],
    [['exec', '-e', '1', '--bogus'], /^tsnet exec: Unknown option '--bogus'/],
    [['exec', '-e'], /^tsnet exec: Option '-e, --eval <value>' argument missing/],
    [['exec', '-e', '1', '--tx', 'popen//x//x'], /^tsnet exec: --tx popen\/\/x\/\/x: gateway spec .* gives the key "x" twice/],
    [['exec', '-e', '1', '--tx', '0*popen'], /^tsnet exec: --tx 0\*popen: the count before "\*" must be 1 to 1024/],
    [['exec', '-e', '1', '--tx', '2*popen//id=a'], /^tsnet exec: --tx 2\*popen\/\/id=a: 2 gateways cannot share the id "a"/],
    [['exec', '-e', '1', '--tx', 'nosuchtype=1'], /^tsnet exec: gateway spec "nosuchtype=1": no transport provides the type "nosuchtype"/],
    [['exec', '/nonexistent/file.ts'], /^tsnet exec: cannot read \/nonexistent\/file.ts/],
  ])('bad arguments %j: exit code 2, one line on stderr, nothing on stdout', async (args, message) => {
    const r = await runTsnet(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
