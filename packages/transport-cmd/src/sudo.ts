/**
 * `sudo=USER` (bare `sudo`: root): `sudo -n -u USER -- <runtime command>`. Non-interactive: a rule
 * that needs a password fails at once with an AuthenticationError, unless `password-env=NAME` names
 * an environment variable (of this process) that holds it. Then it is `sudo -k -S -p <prompt> -u
 * USER`: the password goes to sudo's stdin when it prompts (never on a command line, never in a
 * message, no TTY), `-k` neither uses nor leaves cached credentials, and a refused password fails
 * at once (sudo's second prompt) instead of sudo reading on.
 */
import { hostname } from 'node:os';
import type { XSpec } from '@tsnet/core/transport';
import { AuthenticationError, BootstrapError, ConnectError } from '@tsnet/core/transport';
import { type CmdType, type Failure, specError, stderrTail, type Template } from './cmd-type.js';

/** What sudo -S prints as its prompt (a line of its own, so it can be told from the tool's other output). */
export const SUDO_PROMPT = 'tsnet-sudo-password-prompt';

function targetUser(spec: XSpec): string {
  const v = spec.get('sudo');
  if (v === true || v === undefined) return 'root';
  if (v === '') throw specError(spec, 'sudo= needs a user name (sudo=USER, or bare sudo for root)');
  return v;
}

function hostOf(where: string): string {
  return where.startsWith('this machine') ? hostname() : where;
}

export function passwordRefused(spec: XSpec, env: string, where: string): AuthenticationError {
  const user = targetUser(spec);
  return new AuthenticationError(
    `gateway spec ${JSON.stringify(String(spec))}: sudo on ${where} refused the password from $${env} for running commands as ${user}. ` +
      'Check the password in that variable (it is the password of the user running sudo, not of the target user).',
    { user, host: hostOf(where), port: 0, methods: [`sudo -S (password from $${env})`] },
  );
}

export const sudo: CmdType = {
  type: 'sudo',
  keys: ['sudo', 'password-env', 'sudo-bin'],
  template(spec) {
    const user = targetUser(spec);
    const bin = spec.getString('sudo-bin') ?? 'sudo';
    const envName = spec.getString('password-env');
    const base: Omit<Template, 'argv'> = { binKey: 'sudo-bin', target: `user ${user}`, name: user, reach: 'inside' };
    if (envName === undefined) return { ...base, argv: [bin, '-n', '-u', user, '--'] };
    const value = process.env[envName];
    if (value === undefined) throw specError(spec, `password-env=${envName}: the environment variable ${envName} is not set in this process`);
    if (value.includes('\n')) throw specError(spec, `password-env=${envName}: the password holds a newline, which sudo -S cannot take`);
    return { ...base, argv: [bin, '-k', '-S', '-p', `${SUDO_PROMPT}\n`, '-u', user, '--'], password: { prompt: SUDO_PROMPT, value, env: envName } };
  },
  classify(f: Failure, t: Template) {
    const user = t.name;
    const s = f.stderr;
    const spec = JSON.stringify(f.spec);
    const auth = (why: string) =>
      new AuthenticationError(`gateway spec ${spec}: ${why}${stderrTail(s, 4)}`, {
        user,
        host: hostOf(f.where),
        port: 0,
        methods: [t.password ? `sudo -S (password from $${t.password.env})` : 'sudo -n'],
      });
    if (/a password is required|a terminal is required/.test(s)) {
      return auth(
        `sudo on ${f.where} needs a password to run commands as ${user}, and tsnet runs it non-interactively (sudo -n). ` +
          'Put the password in an environment variable and name it with password-env=NAME, or allow the command without one (NOPASSWD in sudoers).',
      );
    }
    if (/incorrect password attempt|Sorry, try again/.test(s))
      return auth(`sudo on ${f.where} refused the password${t.password ? ` from $${t.password.env}` : ''}.`);
    if (/unknown user/.test(s)) return new ConnectError(`gateway spec ${spec}: there is no user ${JSON.stringify(user)} on ${f.where} (sudo: unknown user).`);
    if (/is not in the sudoers file|is not allowed to execute|may not run sudo/.test(s)) {
      return auth(`the sudoers policy on ${f.where} does not allow running ${f.exe} as ${user}: add a rule for it (visudo).`);
    }
    if (/command not found|unable to execute .*No such file or directory/.test(s)) {
      return new BootstrapError(
        `gateway spec ${spec}: no runtime for ${user} on ${f.where}: sudo found no ${JSON.stringify(f.exe)} ` +
          `(tried ${JSON.stringify(f.exe)}${f.exe.includes('/') ? '' : " on sudo's secure_path"}). Install Node there or pass exe=/path/to/node.${stderrTail(s, 4)}`,
        { stderr: s },
      );
    }
    return undefined;
  },
};
