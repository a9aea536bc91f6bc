// `tsnet test` as @tsnet/cli's hook calls it (tsnetCommand.run with a Context), for tests that need
// a process of their own (Ctrl-C): arguments are passed through, the exit code is the command's.
import { tsnetCommand } from '@tsnet/test';

process.exitCode = await tsnetCommand.run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
