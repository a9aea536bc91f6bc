/**
 * TLS with a self-signed certificate made by openssl at test time: pinning by fingerprint over
 * TCP and WebSocket, trusting it as a CA, and the errors for a wrong pin, no pin and no //tls.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostKeyError, makeGateway } from '@tsnet/core';
import { expect, test } from 'vitest';
import { useServer } from './helpers/server.js';

let fingerprint: string;
let certFile: string;
const served = useServer((dir) => {
  certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  fingerprint = new X509Certificate(readFileSync(certFile)).fingerprint256;
  return ['--tls-cert', certFile, '--tls-key', keyFile];
});
const { tokenFile } = served;

test('the server prints the fingerprint to pin', async () => {
  await served.server.waitLog(new RegExp(`fingerprint ${fingerprint}`));
});

test('socket=…//tls//tls-fingerprint= and ws=wss://…//tls-fingerprint= reach the server', async () => {
  for (const spec of [
    `socket=${served.server.address}//tls//tls-fingerprint=${fingerprint}//token-file=${tokenFile}`,
    `ws=wss://${served.server.address}/x//tls-fingerprint=${fingerprint.toLowerCase()}//token-file=${tokenFile}`,
  ]) {
    const gw = await makeGateway(spec, { output: 'ignore' });
    expect(await gw.remoteExec('channel.send(6 * 7)').receive()).toBe(42);
    await gw.exit();
    expect(await gw.closed).toMatchObject({ exitCode: 0 });
  }
  await served.server.waitLog(/ tls: served/);
  await served.server.waitLog(/ wss: served/);
});

test('tls-ca= trusts the self-signed certificate as its own CA, with the host name checked', async () => {
  const gw = await makeGateway(`socket=localhost:${served.server.port}//tls//tls-ca=${certFile}//token-file=${tokenFile}`, { output: 'ignore' });
  expect(await gw.remoteExec('channel.send(1)').receive()).toBe(1);
  await gw.exit();
});

test('a wrong pin, no pin, and a plain client: refused before any code is sent', async () => {
  const idle = await served.server.settledChildren();
  const wrong = fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00');
  const pinned = (await makeGateway(`socket=${served.server.address}//tls//tls-fingerprint=${wrong}//token-file=${tokenFile}`).catch(
    (e: unknown) => e,
  )) as HostKeyError;
  expect(pinned).toBeInstanceOf(HostKeyError);
  expect(pinned).toMatchObject({
    code: 'TSNET_ERR_HOST_KEY',
    reason: 'changed',
    fingerprint: fingerprint.toUpperCase(),
    knownFingerprints: [wrong.toUpperCase()],
    message: expect.stringContaining('does not match tls-fingerprint='),
  });
  const pinnedWs = await makeGateway(`ws=wss://${served.server.address}/x//tls-fingerprint=${wrong}//token-file=${tokenFile}`).catch((e: unknown) => e);
  expect(pinnedWs).toBeInstanceOf(HostKeyError);
  expect(pinnedWs).toMatchObject({ code: 'TSNET_ERR_HOST_KEY' });
  await expect(makeGateway(`socket=${served.server.address}//tls//token-file=${tokenFile}`)).rejects.toMatchObject({
    code: 'TSNET_ERR_CONNECT',
    message: expect.stringContaining('tls-fingerprint='),
  });
  await expect(makeGateway(`socket=${served.server.address}//token-file=${tokenFile}`)).rejects.toMatchObject({
    code: 'TSNET_ERR_CONNECT',
    message: expect.stringContaining('add //tls'),
  });
  await served.server.waitLog(/refused: TLS handshake failed/);
  expect(await served.server.settledChildren()).toEqual(idle);
});
