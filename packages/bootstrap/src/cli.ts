import { PROTOCOL_VERSION } from '@tsnet/core/worker';

/** `node tsnet-bootstrap.js <command>`: the standalone entry points of the bundle. */
const USAGE = `Usage: node tsnet-bootstrap.js <command>

Commands:
  serve       run the socket server (see: serve --help)
  version     print the tsnet protocol version of this file
  help        show this text
`;

export async function cli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { serve } = await import('./serve-cli.js');
      await serve(rest);
      return;
    }
    case 'version': {
      process.stdout.write(`tsnet protocol ${PROTOCOL_VERSION}\n`);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`tsnet-bootstrap: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

declare const __tsnetBoot: unknown;

/** The file's server part: runs the CLI when the file runs as a program (never when injected). */
export function main(): void {
  if (typeof __tsnetBoot !== 'undefined') return;
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`tsnet-bootstrap: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
