// Call a pure function remotely with arguments and get its result; call a module's export.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<{ sum: number; host: string; doubled: number }> {
  const gw = await makeGateway();
  try {
    const sum = await gw.call((a: number, b: number) => a + b, 2, 3); // 5
    const host = await gw.call(async () => (await import('node:os')).hostname());
    const doubled = await gw.call<number>(new URL('./mathlib.ts', import.meta.url), 'double', 21); // 42
    return { sum, host, doubled };
  } finally {
    await gw.exit();
  }
}
