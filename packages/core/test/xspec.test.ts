import { SpecError, XSpec } from '@tsnet/core';
import { describe, expect, test } from 'vitest';

describe('XSpec', () => {
  test('keys, flags, env and type', () => {
    const s = new XSpec('popen//node=/usr/bin/node//chdir=/tmp//env:FOO=bar//env:X=a=b//id=w1//nice=5//hello=3');
    expect(s.type).toBe('popen');
    expect(s.popen).toBe(true);
    expect(s.node).toBe('/usr/bin/node');
    expect(s.chdir).toBe('/tmp');
    expect(s.id).toBe('w1');
    expect(s.nice).toBe('5');
    expect(s.hello).toBe('3');
    expect(s.env).toEqual({ FOO: 'bar', X: 'a=b' });
    expect(s.ssh).toBeUndefined();
    expect(String(s)).toBe('popen//node=/usr/bin/node//chdir=/tmp//env:FOO=bar//env:X=a=b//id=w1//nice=5//hello=3');
  });

  test('ssh and socket specs', () => {
    expect(new XSpec('ssh=user@host:2222//id=x').ssh).toBe('user@host:2222');
    expect(new XSpec('ssh=user@host').type).toBe('ssh');
    expect(new XSpec('socket=[::1]:8888').socket).toBe('[::1]:8888');
    expect(new XSpec('id=a//popen').type).toBe('popen');
  });

  test.each([
    ['', /empty gateway spec/],
    ['node=/x', /names no gateway type/],
    ['id=a//chdir=/tmp', /names no gateway type/],
    ['popen//chdir=a//chdir=b', /gives the key "chdir" twice/],
    ['popen////id=x', /empty key/],
    ['popen//', /empty key/],
    ['popen//=x', /key with no name/],
    ['popen//_private=1', /not allowed/],
    ['popen//nice=abc', /nice must be an integer/],
    ['popen//env:=1', /env:NAME=value/],
    ['popen//id', /id needs a value/],
    ['popen//runtime=perl', /runtime must be one of node, bun, deno, got "perl"/],
    ['popen//runtime', /runtime needs a value/],
    ['popen//exe', /exe needs a value/],
    ['popen//runtime=bun//node=/usr/bin/node', /node=PATH is shorthand for runtime=node\/\/exe=PATH/],
    ['popen//node=/usr/bin/node//exe=/usr/bin/node', /give either node= or runtime=\/exe=, not both/],
  ])('%j is refused', (text, message) => {
    expect(() => new XSpec(text)).toThrow(SpecError);
    expect(() => new XSpec(text)).toThrow(message);
  });

  test('runtime= and exe= are option keys, not a type', () => {
    const s = new XSpec('runtime=bun//exe=/opt/bun//popen');
    expect([s.type, s.runtime, s.exe]).toEqual(['popen', 'bun', '/opt/bun']);
    expect(new XSpec('popen//runtime=node//node=/usr/bin/node').node).toBe('/usr/bin/node');
  });

  test('an unknown first key is taken as the type, for the transport lookup to name its package', () => {
    expect(new XSpec('docker=box//id=d').type).toBe('docker');
    expect(new XSpec('id=d//vagrant_ssh=default').type).toBe('vagrant_ssh');
  });

  test('the message shows the spec', () => {
    expect(() => new XSpec('popen//a=1//a=2')).toThrow('"popen//a=1//a=2"');
  });

  test('equality uses the text', () => {
    expect(new XSpec('popen//id=a').equals('popen//id=a')).toBe(true);
    expect(new XSpec('popen//id=a').equals(new XSpec('popen//id=b'))).toBe(false);
  });
});
