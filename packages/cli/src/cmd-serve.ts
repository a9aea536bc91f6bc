/**
 * `tsnet serve`: the standalone socket server, exactly the one `node tsnet-bootstrap.js serve` runs
 * (same options, same output, same exit codes): the bundled file's server part runs in this
 * process, so signals (Ctrl-C, SIGTERM) reach it as they would reach the file. It ends the process
 * itself when it stops; bad options set exit code 2 and print their one line.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { BOOTSTRAP_FILE } from '@tsnet/bootstrap';
import type { Context } from './context.js';
import { write as writeOut } from './output.js';

export async function serveCommand(argv: string[], ctx: Context): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    const text = execFileSync(process.execPath, [BOOTSTRAP_FILE, 'serve', '--help'], { encoding: 'utf8' });
    await writeOut(ctx.stdout, text.replaceAll('node tsnet-bootstrap.js serve', 'tsnet serve'));
    return 0;
  }
  // Its own messages name the file; said as this command, an option mistake stays one line.
  const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(
      typeof chunk === 'string' && chunk.startsWith('tsnet-bootstrap serve: ')
        ? `tsnet serve: ${chunk.slice(23).replace('\nRun "node tsnet-bootstrap.js serve --help" for the options.\n', ' (see: tsnet serve --help)\n')}`
        : chunk,
      ...rest,
    )) as typeof process.stderr.write;
  // The server part reads its arguments from process.argv, as a program does.
  process.argv = [process.argv[0]!, BOOTSTRAP_FILE, 'serve', ...argv];
  createRequire(import.meta.url)(BOOTSTRAP_FILE);
  // The server decides when the process ends (process.exit, or its exit code once idle).
  return new Promise<number>(() => {});
}
