import { ConnectError, type ConnectOptions, Group, SpecError, type TransportProvider, XSpec } from '@tsnet/core';
import { expect, test } from 'vitest';
import { GATEWAY_TYPES, KNOWN_TRANSPORTS, OPTION_KEYS } from '../src/spec/transport-registry.js';

/** A provider that records what it was asked to connect, then refuses (no remote is needed to see the spec). */
function recordingProvider(type: string): TransportProvider & { seen: ConnectOptions[] } {
  const seen: ConnectOptions[] = [];
  return {
    type,
    seen,
    connect(options) {
      seen.push(options);
      return Promise.reject(new ConnectError(`${type}: refused by the test`));
    },
  };
}

test('a provider given directly keeps its own type: docker is docker, never popen', async () => {
  const docker = recordingProvider('docker');
  const group = new Group();
  await expect(group.makeGateway(docker)).rejects.toThrow(ConnectError);
  expect(docker.seen).toHaveLength(1);
  expect(docker.seen[0]!.spec.type).toBe('docker');
  expect(String(docker.seen[0]!.spec)).toBe('docker');
  await group.terminate();
});

test('a provider whose type cannot name a gateway type is a SpecError, not a popen gateway', async () => {
  const group = new Group();
  for (const type of ['node', 'a//b', '']) {
    const provider = recordingProvider(type);
    await expect(group.makeGateway(provider)).rejects.toThrow(SpecError);
    expect(provider.seen).toHaveLength(0);
  }
  await group.terminate();
});

test('the registry is the one table of known transports: types, packages and option keys', () => {
  expect(GATEWAY_TYPES).toEqual(['popen', 'ssh', 'socket', 'ws', 'sudo', 'docker', 'podman', 'kubectl', 'chroot', 'netns', 'cmd']);
  for (const t of KNOWN_TRANSPORTS) for (const key of t.keys) expect(OPTION_KEYS.has(key)).toBe(true);
  // a transport's option key never becomes the type; an unknown key does (a custom transport)
  expect(new XSpec('tls-fingerprint=ab//socket=h:1').type).toBe('socket');
  expect(new XSpec('identity=k//docker=img').type).toBe('docker');
});
