// The argv of every type and the classifiers on the tools' real error texts. kubectl cannot run
// here (no cluster): its argv and what it prints are tested here only (see the README).

import { FIRST_STAGE } from '@tsnet/bootstrap';
import { XSpec } from '@tsnet/core';
import { describe, expect, test } from 'vitest';
import { type CmdType, cmdArgv, cmdTypes, type Failure, SUDO_PROMPT, shellWords } from '../src/index.js';

const argvOf = (spec: string) => {
  const x = new XSpec(spec);
  return cmdArgv(cmdTypes[x.type as keyof typeof cmdTypes], x).argv;
};
/** The tool's part of the argv (before the runtime command). */
const toolArgv = (spec: string) => {
  const x = new XSpec(spec);
  return cmdTypes[x.type as keyof typeof cmdTypes].template(x).argv;
};

function classify(type: CmdType, spec: string, stderr: string, code: number | null = 1, exe = 'node'): Error | undefined {
  const x = new XSpec(spec);
  const f: Failure = { stderr, code, signal: null, where: 'this machine (h)', exe, spec };
  return type.classify(f, type.template(x));
}

describe('argv templates', () => {
  test('sudo: non-interactive by default, -S with a prompt line of its own and -k with password-env', () => {
    expect(toolArgv('sudo')).toEqual(['sudo', '-n', '-u', 'root', '--']);
    expect(toolArgv('sudo=app//sudo-bin=/opt/sudo')).toEqual(['/opt/sudo', '-n', '-u', 'app', '--']);
    process.env.TSNET_T_PW = 'hunter2';
    const argv = toolArgv('sudo=app//password-env=TSNET_T_PW');
    expect(argv).toEqual(['sudo', '-k', '-S', '-p', `${SUDO_PROMPT}\n`, '-u', 'app', '--']);
    expect(argvOf('sudo=app//password-env=TSNET_T_PW').join(' ')).not.toContain('hunter2');
    delete process.env.TSNET_T_PW;
  });

  test('docker and podman: exec -i, never -t, no detach keys; user=', () => {
    expect(toolArgv('docker=web')).toEqual(['docker', 'exec', '-i', '--detach-keys=', 'web']);
    expect(toolArgv('podman=web//user=app//podman-bin=/usr/local/bin/podman')).toEqual([
      '/usr/local/bin/podman',
      'exec',
      '-i',
      '--detach-keys=',
      '-u',
      'app',
      'web',
    ]);
  });

  test('kubectl: context and namespace before exec, container after the pod, -- before the runtime', () => {
    expect(toolArgv('kubectl=web')).toEqual(['kubectl', 'exec', '-i', 'web', '--']);
    expect(toolArgv('kubectl=web//namespace=prod//container=app//context=kind-a')).toEqual([
      'kubectl',
      '--context',
      'kind-a',
      '--namespace',
      'prod',
      'exec',
      '-i',
      'web',
      '--container',
      'app',
      '--',
    ]);
    expect(argvOf('kubectl=web').some((a) => a === '-t' || a === '--tty')).toBe(false);
  });

  test('chroot, netns, cmd', () => {
    expect(toolArgv('chroot=/srv/root')).toEqual(['chroot', '/srv/root']);
    expect(toolArgv('netns=blue')).toEqual(['ip', 'netns', 'exec', 'blue']);
    expect(toolArgv('cmd=setpriv --reuid=app \'a b\' c\\ d "e \\"f\\""')).toEqual(['setpriv', '--reuid=app', 'a b', 'c d', 'e "f"']);
  });

  test('the runtime command follows: node on the target PATH by default, exe= or node= otherwise, the prelude before the first stage', () => {
    const argv = argvOf('podman=web//chdir=/w//env:A=1');
    const tail = argv.slice(toolArgv('podman=web').length);
    expect(tail[0]).toBe('node');
    expect(tail[1]).toBe('-e');
    expect(tail[2]!.endsWith(FIRST_STAGE)).toBe(true);
    expect(tail[2]).toContain('process.chdir(d)');
    expect(tail[2]).toContain('{"A":"1"}');
    expect(argvOf('sudo//exe=/opt/node/bin/node').at(-3)).toBe('/opt/node/bin/node');
    // deno: the prelude goes after the prefix that makes require, before the first stage
    const deno = argvOf('sudo//runtime=deno//chdir=/w').slice(toolArgv('sudo').length);
    expect(deno.slice(0, 3)).toEqual(['deno', 'eval', '--ext=js']);
    expect(deno[3]).toMatch(/^import\{createRequire.*const require=.*process\.chdir\(d\)/);
    expect(deno[3]!.endsWith(FIRST_STAGE)).toBe(true);
    expect(argvOf('cmd=env//runtime=bun').slice(1, 3)).toEqual(['bun', '-e']);
    expect(argvOf('sudo//node=/opt/node --max-old-space-size=64').slice(-4, -2)).toEqual(['/opt/node', '--max-old-space-size=64']);
  });

  test('bad specs are SpecErrors', () => {
    for (const spec of [
      'docker=',
      'kubectl',
      'chroot',
      'netns',
      'cmd=',
      'cmd=a "b',
      'cmd=a\\',
      'sudo=app//password-env=TSNET_T_UNSET_VAR',
      'podman=x//runtime=perl',
    ]) {
      expect(() => argvOf(spec), spec).toThrow(expect.objectContaining({ code: 'TSNET_ERR_SPEC' }));
    }
  });

  test('shellWords keeps $, * and ~ literally (no shell runs) and splits on any blank', () => {
    expect(shellWords(' a\t$HOME  *  ~/x\n"" \'\'', 's')).toEqual(['a', '$HOME', '*', '~/x', '', '']);
  });
});

describe('classifiers on the tools’ real error texts', () => {
  const { docker, podman, kubectl, sudo } = cmdTypes;
  const codeOf = (e: Error | undefined) => (e as { code?: string } | undefined)?.code;

  test('kubectl', () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['Error from server (NotFound): pods "web" not found\n', 'TSNET_ERR_CONNECT', 'kubectl=web', /no pod "web"/],
      ['Error from server (NotFound): namespaces "prod" not found\n', 'TSNET_ERR_CONNECT', 'kubectl=web//namespace=prod', /no namespace "prod"/],
      [
        'Error in configuration: context was not found for specified context: kind-x\n',
        'TSNET_ERR_CONNECT',
        'kubectl=web//context=kind-x',
        /no context "kind-x"/,
      ],
      ['Error from server (BadRequest): container app is not valid for pod web\n', 'TSNET_ERR_CONNECT', 'kubectl=web//container=app', /no container "app"/],
      ['error: unable to upgrade connection: container not found ("app")\n', 'TSNET_ERR_CONNECT', 'kubectl=web//container=app', /no container "app"/],
      [
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "node": executable file not found in $PATH: unknown\ncommand terminated with exit code 126\n',
        'TSNET_ERR_BOOTSTRAP',
        'kubectl=web',
        /no runtime in pod web: tried "node"/,
      ],
      [
        'Error from server (Forbidden): pods "web" is forbidden: User "dev" cannot create resource "pods/exec" in API group "" in the namespace "default"\n',
        'TSNET_ERR_AUTH',
        'kubectl=web',
        /does not allow dev to exec/,
      ],
      [
        'The connection to the server localhost:8080 was refused - did you specify the right host or port?\n',
        'TSNET_ERR_CONNECT',
        'kubectl=web',
        /cannot reach the cluster/,
      ],
      ['error: cannot exec into a container in a completed pod; current phase is Succeeded\n', 'TSNET_ERR_CONNECT', 'kubectl=web', /is not running/],
    ];
    for (const [stderr, code, spec, message] of cases) {
      const e = classify(kubectl, spec, stderr, stderr.includes('126') ? 126 : 1);
      expect(codeOf(e), stderr).toBe(code);
      expect(e!.message, stderr).toMatch(message);
    }
    expect(classify(kubectl, 'kubectl=web', 'something else entirely\n')).toBeUndefined();
  });

  test('docker', () => {
    const cases: Array<[string, number, string, RegExp]> = [
      ['Error response from daemon: No such container: web\n', 1, 'TSNET_ERR_CONNECT', /no docker container "web"/],
      ['Error response from daemon: Container 4f2a… is not running\n', 1, 'TSNET_ERR_CONNECT', /is not running: start it first/],
      ['Error response from daemon: unable to find user app: no matching entries in passwd file\n', 1, 'TSNET_ERR_CONNECT', /no user "app"/],
      [
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "node": executable file not found in $PATH: unknown\n',
        126,
        'TSNET_ERR_BOOTSTRAP',
        /no runtime in the docker container "web": tried "node"/,
      ],
      [
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
        1,
        'TSNET_ERR_CONNECT',
        /cannot reach its daemon/,
      ],
    ];
    for (const [stderr, exit, code, message] of cases) {
      const e = classify(docker, 'docker=web', stderr, exit);
      expect(codeOf(e), stderr).toBe(code);
      expect(e!.message, stderr).toMatch(message);
    }
  });

  test('podman (texts of podman 4.3 on this machine)', () => {
    expect(codeOf(classify(podman, 'podman=web', 'Error: can only create exec sessions on running containers: container state improper\n', 255))).toBe(
      'TSNET_ERR_CONNECT',
    );
  });

  test('sudo', () => {
    const needs = classify(sudo, 'sudo=app', 'sudo: a password is required\n');
    expect(codeOf(needs)).toBe('TSNET_ERR_AUTH');
    expect(needs).toMatchObject({ user: 'app', methods: ['sudo -n'] });
    expect(codeOf(classify(sudo, 'sudo=app', "Sorry, user bob is not allowed to execute '/usr/bin/node -e …' as app on h.\n"))).toBe('TSNET_ERR_AUTH');
    expect(codeOf(classify(sudo, 'sudo=zed', 'sudo: unknown user zed\nsudo: error initializing audit plugin sudoers_audit\n'))).toBe('TSNET_ERR_CONNECT');
    expect(codeOf(classify(sudo, 'sudo=app', 'sudo: node: command not found\n'))).toBe('TSNET_ERR_BOOTSTRAP');
  });
});
