// What the remote writes outside the wire, and sides that speak different protocol versions.
import { execFileSync } from 'node:child_process';
import { BOOTSTRAP_FILE, bundle } from '@tsnet/bootstrap';
import { GatewayClosedError, makeGateway, PROTOCOL_VERSION, ProtocolError, SpecError } from '@tsnet/core';
import { encodeFrame, FrameDecoder, FrameType } from '@tsnet/core/worker';
import { describe, expect, test } from 'vitest';
import { isAlive, survivors } from './helpers/processes.js';
import { rawRemote, spawnRemote } from './helpers/raw-remote.js';

// Remote code that writes to fd 1 every way there is, between sends.
const NOISY = `
  const fs = require('node:fs');
  for (let i = 0; i < 200; i++) {
    if (i % 50 === 0) fs.writeSync(1, 'native write ' + i + '\\n');
    if (i % 50 === 10) process.stdout.write('stream write ' + i + '\\n');
    if (i % 50 === 20) console.log('console.log ' + i);
    await channel.send(i);
  }`;

describe('stray output on the remote stdout', () => {
  test('popen: fd 1 is not the wire, so even native writes cannot corrupt it; the text arrives as output', async () => {
    const gw = await makeGateway('popen', { output: 'ignore' });
    let stdout = '';
    gw.onOutput((stream, text) => {
      if (stream === 'stdout') stdout += text;
    });
    const ch = gw.remoteExec(NOISY);
    for (let i = 0; i < 200; i++) expect(await ch.receive()).toBe(i);
    await ch.waitClose();
    await gw.exit();
    expect(stdout).toMatch(/native write 150\n/);
    expect(stdout).toMatch(/stream write 160\n/);
    expect(stdout).toMatch(/console\.log 170\n/);
    expect((await gw.closed).error).toBeUndefined();
  });

  test('fd 1 as the wire (ssh, socket): Node-level writes are redirected; a native write is caught and named', async () => {
    const provider = rawRemote({ config: { wireFd: 1, output: 'frames', killGroup: true, watchPpid: true } });
    const gw = await makeGateway(provider, { output: 'ignore' });
    let stdout = '';
    gw.onOutput((stream, text) => {
      if (stream === 'stdout') stdout += text;
    });
    // console.log and process.stdout.write become OUTPUT frames: the channel is unharmed
    const polite = gw.remoteExec(`for (let i = 0; i < 100; i++) { console.log('line ' + i); process.stdout.write('w' + i + '\\n'); await channel.send(i); }`);
    for (let i = 0; i < 100; i++) expect(await polite.receive()).toBe(i);
    await polite.waitClose();
    expect(stdout).toMatch(/line 99\nw99\n/);
    // a native write puts bytes between frames: the local side refuses them at once
    const waiting = gw.remoteExec('await channel.receive()');
    gw.remoteExec(`await new Promise((r) => setTimeout(r, 20)); require('node:fs').writeSync(1, 'Segmentation fault?\\n')`);
    const info = await gw.closed;
    expect(info.error).toBeInstanceOf(ProtocolError);
    expect(info.reason).toMatch(/^protocol error: bad frame at byte \d+: expected magic 0xf7, got 53 65 67 .*\("Segmentation/);
    expect(info.reason).toMatch(/stray output on stdout/);
    const err = (await waiting.receive().catch((e: unknown) => e)) as GatewayClosedError;
    expect(err).toBeInstanceOf(GatewayClosedError);
    expect(err.reason).toBe(info.reason);
    expect(await survivors(provider.pids, 2000)).toEqual([]);
  });
});

describe('protocol version mismatch', () => {
  // The bundle inlines the version: what an old tsnet-bootstrap.js on a server would say.
  function bundleSpeaking(version: number): Buffer {
    const text = bundle().code.toString('latin1');
    const patched = text
      .replaceAll(`version:${PROTOCOL_VERSION},`, `version:${version},`)
      .replaceAll(`.version!==${PROTOCOL_VERSION}`, `.version!==${version}`);
    expect(patched).not.toBe(text); // the minified bundle still has the shape this test patches
    return Buffer.from(patched, 'latin1');
  }

  test('an older remote side: makeGateway() fails with TSNET_ERR_VERSION naming both versions', async () => {
    const provider = rawRemote({ code: bundleSpeaking(0), config: { wireFd: 3, output: 'fd', killGroup: true, watchPpid: true } });
    const err = (await makeGateway(provider, { output: 'ignore' }).catch((e: unknown) => e)) as ProtocolError;
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.code).toBe('TSNET_ERR_VERSION');
    expect(err.message).toMatch(`this side speaks tsnet protocol ${PROTOCOL_VERSION}, the remote side speaks 0`);
    expect(err.message).toMatch(/re-copy tsnet-bootstrap\.js/);
    expect(await survivors(provider.pids, 2000)).toEqual([]);
  });

  test('an older local side: the remote answers with an error naming both versions, and exits', async () => {
    const child = spawnRemote({ config: { wireFd: 3, output: 'fd', killGroup: true, watchPpid: true } });
    const hellos: Record<string, unknown>[] = [];
    const decoder = new FrameDecoder({
      onFrame: (type, _flags, _ch, buf, start, end) => {
        if (type === FrameType.HELLO) hellos.push(JSON.parse(Buffer.from(buf.subarray(start, end)).toString('utf8')) as Record<string, unknown>);
      },
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => decoder.push(b));
    child.stdin!.write(encodeFrame(FrameType.HELLO, 0, 0, Buffer.from(JSON.stringify({ version: 999, id: 'old', window: 1 << 22, maxFrame: 1 << 20 }))));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(76);
    expect(hellos).toHaveLength(1);
    expect(hellos[0]).toMatchObject({ version: PROTOCOL_VERSION, code: 'TSNET_ERR_VERSION' });
    expect(hellos[0]!.error).toMatch(`the local side speaks tsnet protocol 999, this remote side speaks ${PROTOCOL_VERSION}`);
    expect(isAlive(child.pid!)).toBe(false);
  });
});

// The standalone file answers `version` with the protocol it speaks (what to compare on a server).
test('node tsnet-bootstrap.js version names its protocol', () => {
  expect(execFileSync(process.execPath, [BOOTSTRAP_FILE, 'version'], { encoding: 'utf8' })).toBe(`tsnet protocol ${PROTOCOL_VERSION}\n`);
});

test('gateway options out of range fail with SpecError and leave no process behind', async () => {
  const provider = rawRemote({ config: { wireFd: 3, output: 'fd', killGroup: true, watchPpid: true } });
  const err = await makeGateway(provider, { window: 100 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SpecError);
  expect((err as Error).message).toBe('gateway option window must be an integer from 4096 to 1073741824, got 100');
  expect(await survivors(provider.pids, 2000)).toEqual([]);
});
