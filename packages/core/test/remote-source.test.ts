import { SourceError } from '@tsnet/core';
import { describe, expect, test } from 'vitest';
import { functionSource } from '../src/exec/remote-source.js';

const globals = new Set(Object.getOwnPropertyNames(globalThis));

describe('functions shipped to the remote side', () => {
  test('a self-contained function is accepted', () => {
    async function multiplier(channel: { receive(): Promise<number>; send(v: number): Promise<void> }, kwargs: { factor: number }) {
      const os = await import('node:os');
      const local = Math.max(1, kwargs.factor);
      await channel.send((await channel.receive()) * local + os.cpus().length * 0);
    }
    const { expression, name } = functionSource(multiplier, globals);
    expect(name).toBe('multiplier');
    expect(expression.startsWith('(')).toBe(true);
  });

  test('names from the enclosing scope are listed and refused', () => {
    const factor = 3;
    const helper = (x: number) => x;
    let err: unknown;
    try {
      functionSource((channel: { send(v: number): void }) => channel.send(helper(factor)), globals);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).freeVariables).toEqual(['factor', 'helper']);
    expect((err as Error).message).toMatch(/factor, helper.*kwargs/s);
    expect((err as SourceError).code).toBe('TSNET_ERR_SOURCE');
  });

  test('globals of the remote runtime decide, not the local ones', () => {
    const fn = () => (globalThis as { onlyHere?: number }).onlyHere ?? structuredClone(1);
    expect(() => functionSource(fn, new Set(['globalThis']))).toThrow(/structuredClone/);
    expect(() => functionSource(fn, globals)).not.toThrow();
  });

  test('methods, async arrows and esbuild helpers work', () => {
    const obj = {
      serve(channel: { send(v: unknown): void }) {
        channel.send(__name(() => 1, 'x'));
      },
    };
    expect(functionSource(obj.serve, globals).expression).toMatch(/\["serve"\]$/);
    expect(() => functionSource(async (c: { send(v: number): void }) => c.send(1), globals)).not.toThrow();
  });

  test('native and bound functions are refused', () => {
    expect(() => functionSource(Math.max, globals)).toThrow(/no JavaScript source/);
    expect(() => functionSource((() => 1).bind(null), globals)).toThrow(SourceError);
  });
});

declare function __name<T>(fn: T, name: string): T;
