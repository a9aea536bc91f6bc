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
      // Loaded only here: the injected remote side never evaluates the server (or ws).
      const { serve } = await import('./serve-cli.js');
      await serve(rest);
      return;
    }
    case 'version': {
      const { PROTOCOL_VERSION } = await import('@tsnet/core/internal');
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
