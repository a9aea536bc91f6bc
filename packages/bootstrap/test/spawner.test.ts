// The ssh spawner on its own (spawner.ts): real Unix sockets and a real /bin/sh, in this process.
// Refusals (wrong token, malformed lines, a half that never gets its pair), both orders of the two
// halves, the exit status line, and the sweep of directories whose runtime is gone.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, expect, test } from 'vitest';
import { startSpawner } from '../src/spawner.js';

const dir = `/tmp/tsnet-spawn-${randomBytes(12).toString('hex')}`;
const token = randomBytes(24).toString('hex');
startSpawner({ dir, token });
const made = [dir];
// (the spawner removes its directory at its process's exit; this process is the test runner's)
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Everything a connection receives until it closes (bounded: `ms`). */
function collect(socket: Socket, ms = 5000): Promise<string> {
  let text = '';
  socket.setEncoding('latin1').on('data', (t: string) => {
    text += t;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no close within ${ms} ms; got ${JSON.stringify(text)}`)), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

const open = () => connect(`${dir}/s`);

test('its directory is private (0700) and holds the socket and its pid', () => {
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(existsSync(`${dir}/s`)).toBe(true);
});

test('a wrong token, a malformed line, an unknown kind: refused with a tsnet: line, nothing started', async () => {
  for (const line of [
    `TSNET-SPAWN-ERR ${'0'.repeat(48)} a\n`,
    `TSNET-SPAWN ${token} b {not json}\n`,
    `HELLO ${token} c\n`,
    `TSNET-SPAWN ${token} d {"script":"true"}\n`,
  ]) {
    const s = open();
    const got = collect(s);
    s.write(line);
    expect(await got).toMatch(/^tsnet: spawner: (wrong token|bad request)\n$/);
  }
});

test('both halves, in either order: the script runs with the wire as fd 0/1 and the other as fd 2; its exit status follows on fd 2', async () => {
  for (const errFirst of [true, false]) {
    const id = randomBytes(4).toString('hex');
    const err = open();
    const wire = open();
    const errText = collect(err);
    const wireText = collect(wire);
    const script = 'printf "%s %s %s\\n" MARK $$ "$1"; read line; echo "got $line"; echo "to stderr" >&2; exit 3';
    const lines = [`TSNET-SPAWN-ERR ${token} ${id}\n`, `TSNET-SPAWN ${token} ${id} ${JSON.stringify({ script, exit: 'EXIT-MARK' })}\n`];
    if (errFirst) {
      err.write(lines[0]!);
      wire.write(lines[1]!);
    } else {
      wire.write(lines[1]!);
      await new Promise((r) => setTimeout(r, 50));
      err.write(lines[0]!);
    }
    await new Promise<void>((resolve) => {
      wire.once('data', () => resolve());
    });
    wire.end('hello\n');
    const out = await wireText;
    const [marker, got] = out.split('\n');
    expect(marker).toMatch(new RegExp(`^MARK \\d+ ${process.ppid}$`)); // $1: the spawner's parent (over ssh: sshd)
    expect(got).toBe('got hello');
    expect(await errText).toBe('to stderr\n\0EXIT-MARK 3 -\n');
  }
});

test('a half whose pair never comes is refused after 10 s', { timeout: 20_000 }, async () => {
  const err = open();
  const got = collect(err, 15_000);
  err.write(`TSNET-SPAWN-ERR ${token} lonely\n`);
  expect(await got).toBe('tsnet: spawner: no request in time\n');
});

test('a spawner removes, 50 ms after its start, the directories of spawners whose runtime is gone', async () => {
  const dead = `/tmp/tsnet-spawn-${randomBytes(12).toString('hex')}`;
  mkdirSync(dead, { mode: 0o700 });
  writeFileSync(`${dead}/pid`, '999999999'); // above any pid_max: no such process
  const live = `/tmp/tsnet-spawn-${randomBytes(12).toString('hex')}`;
  mkdirSync(live, { mode: 0o700 });
  writeFileSync(`${live}/pid`, String(process.pid));
  const another = `/tmp/tsnet-spawn-${randomBytes(12).toString('hex')}`;
  made.push(dead, live, another);
  startSpawner({ dir: another, token });
  await expect.poll(() => existsSync(dead), { timeout: 5000 }).toBe(false);
  expect(existsSync(live)).toBe(true);
  expect(existsSync(dir)).toBe(true);
});
