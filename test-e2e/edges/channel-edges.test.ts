// Issue 21, timeouts, aborts and early exits on a channel, over popen and ssh: an aborted receive
// rejects with tsnet's own errors; leaving a for-await loop or destroying makeFile('r') closes the
// channel, and the remote's pending send() rejects with ChannelClosedError; a string the remote
// could not decode is refused by the sender, and the channel stays usable.
import { AbortError, DumpError, type Gateway, Group, isTsnetError, TimeoutError } from '@tsnet/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { type GatewayKind, popenKind, sshKind } from '../helpers/gateway-kinds.js';
import { useKindGroup } from '../helpers/use-kind.js';

// Sends until its send() rejects, then reports how it ended on a channel of its own.
const PRODUCER = `
  const report = await channel.receive();
  let n = 0;
  try {
    for (;;) await channel.send(Buffer.alloc(64 * 1024, n++));
  } catch (error) {
    await report.send({ name: error.name, code: error.code, n });
  }
`;

describe.each([popenKind, sshKind()] as GatewayKind[])('$name', (kind) => {
  const kindGroup = useKindGroup(kind);
  let gw: Gateway;
  beforeAll(async () => {
    gw = await kindGroup.open();
  });

  test('receive({ signal: AbortSignal.timeout() }) rejects with TimeoutError, the DOMException as cause; abort() with AbortError', async () => {
    const ch = gw.remoteExec('await channel.receive(); await channel.send("late")');
    const timedOut = await ch.receive({ signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(isTsnetError(timedOut, 'TSNET_ERR_TIMEOUT')).toBe(true);
    expect(((timedOut as Error).cause as DOMException).name).toBe('TimeoutError');
    const controller = new AbortController();
    const pending = ch.receive({ signal: controller.signal });
    controller.abort(new Error('user gave up'));
    const aborted = await pending.catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(AbortError);
    expect((aborted as AbortError).code).toBe('TSNET_ERR_ABORTED');
    expect(((aborted as Error).cause as Error).message).toBe('user gave up');
    // nothing was consumed: the channel still works
    await ch.send('go');
    expect(await ch.receive()).toBe('late');
  });

  test('breaking out of for await closes the channel; the remote send() rejects with ChannelClosedError', async () => {
    const ch = gw.remoteExec(PRODUCER);
    const report = gw.newChannel();
    await ch.send(report);
    let got = 0;
    for await (const _ of ch) if (++got === 3) break;
    const ending = (await report.receive({ timeout: 20_000 })) as { name: string; code: string };
    expect(ending).toMatchObject({ name: 'ChannelClosedError', code: 'TSNET_ERR_CHANNEL_CLOSED' });
    // closed here while the peer sent: waitClose() says how many items were dropped (half-close rules)
    const closed = await ch.waitClose({ timeout: 20_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    if (closed !== null) expect(isTsnetError(closed, 'TSNET_ERR_CHANNEL_CLOSED')).toBe(true);
    expect((await gw.remoteStatus()).numExecuting).toBe(0);
  });

  test("destroying makeFile('r') closes the channel; the remote send() rejects with ChannelClosedError", async () => {
    const ch = gw.remoteExec(PRODUCER);
    const report = gw.newChannel();
    await ch.send(report);
    const file = ch.makeFile('r');
    await new Promise<void>((resolve) => file.once('data', () => resolve()));
    file.destroy();
    const ending = (await report.receive({ timeout: 20_000 })) as { name: string; code: string };
    expect(ending).toMatchObject({ name: 'ChannelClosedError', code: 'TSNET_ERR_CHANNEL_CLOSED' });
    expect((await gw.remoteStatus()).numExecuting).toBe(0);
  });
});

test('a string whose UTF-8 is over what the remote can decode is refused with a DumpError naming the limit; the channel stays usable', async () => {
  const group = new Group();
  try {
    const gw = await group.makeGateway('popen', { output: 'ignore', maxMessage: 1 << 30 });
    const ch = gw.remoteExec('for await (const x of channel) await channel.send(typeof x === "string" ? x.length : x)');
    let big: string | undefined = 'é'.repeat((256 << 20) + 16); // 512 MiB + 32 bytes of UTF-8
    const error = await ch.send(big).catch((e: unknown) => e);
    big = undefined;
    expect(error).toBeInstanceOf(DumpError);
    expect((error as Error).message).toMatch(/over the 536870888 bytes \(512 MiB\) a receiver can decode/);
    await ch.send('é'.repeat(1000));
    expect(await ch.receive()).toBe(1000);
    expect(gw.isDown).toBe(false);
  } finally {
    await group.terminate({ timeout: 2000 });
  }
});
