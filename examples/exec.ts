// Run commands on the remote host: an argv array without a shell, a string with /bin/sh -c.
import { makeGateway } from '@tsnet/core';

export async function main(): Promise<{ files: string; code: number | null; piped: string; bytes: number }> {
  const gw = await makeGateway();
  try {
    const { stdout: files } = await gw.exec(['ls', '-1', '/'], { env: { LC_ALL: 'C' } });
    const { code } = await gw.exec(['sh', '-c', 'exit 3']); // resolves whatever the exit code: 3
    const { stdout: piped } = await gw.exec('tr a-z A-Z | rev', { input: 'tsnet' }); // 'TENST'
    const { stdout: raw } = await gw.exec(['head', '-c', '1024', '/dev/urandom'], { encoding: 'buffer' });
    return { files: files.includes('tmp') ? 'has /tmp' : files, code, piped: piped.trim(), bytes: raw.length };
  } finally {
    await gw.exit();
  }
}
