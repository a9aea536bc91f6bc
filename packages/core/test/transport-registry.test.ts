import { ConnectError, type ConnectOptions, Group, SpecError, type TransportProvider, XSpec } from '@tsnet/core';
import { describe, expect, test } from 'vitest';
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

describe('spec keys no transport knows (issue 21)', () => {
  test.each([
    ['popen//chdri=/tmp', 'chdri', 'chdir'],
    ['popen//nicee=3', 'nicee', 'nice'],
    ['ssh=host//identiy=/k', 'identiy', 'identity'],
    ['socket=127.0.0.1:1//tokn=x', 'tokn', 'token'],
  ])('%s is a SpecError naming the closest known key', async (spec, key, near) => {
    const error = await new Group().makeGateway(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as Error).message).toContain(`no transport knows the key "${key}" (did you mean "${near}"?)`);
  });

  test('a custom type keeps its own keys', async () => {
    const error = await new Group().makeGateway('mytransport=x//image=y').catch((e: unknown) => e);
    expect((error as Error).message).not.toMatch(/no transport knows the key/);
  });
});
