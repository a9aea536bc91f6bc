/**
 * `kubectl=POD` with `namespace=`, `container=`, `context=` (and `kubectl-bin=`):
 * `kubectl [--context C] [-n NS] exec -i POD [-c CONTAINER] -- <runtime command>`. Never `-t`.
 * Failures classified from kubectl's own texts: no such pod, namespace, context or container
 * (ConnectError naming it), no runtime in the container (BootstrapError), an API server that cannot
 * be reached (ConnectError), RBAC refusing pods/exec (AuthenticationError).
 * Not tested against a live cluster (see the README): the argv and the classifier are.
 */
import type { XSpec } from '@tsnet/core/transport';
import { AuthenticationError, BootstrapError, ConnectError } from '@tsnet/core/transport';
import { type CmdType, type Failure, stderrTail, stringKey, type Template } from './cmd-type.js';

function podOf(spec: XSpec): string {
  return stringKey(spec, 'kubectl', 'kubectl=POD');
}

export const kubectl: CmdType = {
  type: 'kubectl',
  keys: ['kubectl', 'namespace', 'container', 'context', 'kubectl-bin'],
  template(spec) {
    const pod = podOf(spec);
    const namespace = spec.getString('namespace');
    const container = spec.getString('container');
    const context = spec.getString('context');
    const bin = spec.getString('kubectl-bin') ?? 'kubectl';
    const argv = [
      bin,
      ...(context ? ['--context', context] : []),
      ...(namespace ? ['--namespace', namespace] : []),
      'exec',
      '-i',
      pod,
      ...(container ? ['--container', container] : []),
      '--',
    ];
    const where = `pod ${pod}${container ? ` (container ${container})` : ''}${namespace ? ` in namespace ${namespace}` : ''}`;
    return { argv, binKey: 'kubectl-bin', target: where, name: pod, reach: 'inside' };
  },
  classify(f: Failure, t: Template) {
    const s = f.stderr;
    const spec = JSON.stringify(f.spec);
    const ns = /namespaces? "([^"]+)" not found/.exec(s);
    if (ns) return new ConnectError(`gateway spec ${spec}: there is no namespace ${JSON.stringify(ns[1])} in the cluster.${stderrTail(s, 3)}`);
    const pod = /pods? "([^"]+)" not found/.exec(s);
    if (pod) return new ConnectError(`gateway spec ${spec}: there is no pod ${JSON.stringify(pod[1])} (${t.target}).${stderrTail(s, 3)}`);
    const ctx = /context was not found for specified context: (\S+)|context "([^"]+)" does not exist/.exec(s);
    if (ctx) return new ConnectError(`gateway spec ${spec}: kubectl has no context ${JSON.stringify(ctx[1] ?? ctx[2])} in its kubeconfig.${stderrTail(s, 3)}`);
    const container = /container "?([^\s"]+)"? is not valid for pod|container not found \("([^"]+)"\)/.exec(s);
    if (container) {
      return new ConnectError(`gateway spec ${spec}: there is no container ${JSON.stringify(container[1] ?? container[2])} in ${t.target}.${stderrTail(s, 3)}`);
    }
    if (/executable file not found|no such file or directory/i.test(s) && /exec/.test(s)) {
      return new BootstrapError(
        `gateway spec ${spec}: no runtime in ${t.target}: tried ${JSON.stringify(f.exe)}${f.exe.includes('/') ? '' : " on the container's PATH"}. ` +
          `Install Node in the image, or pass exe=/path/to/node inside the container.${stderrTail(s, 3)}`,
        { stderr: s },
      );
    }
    const forbidden = /Forbidden\).*User "([^"]+)" cannot create resource "pods\/exec"/.exec(s);
    if (forbidden) {
      return new AuthenticationError(
        `gateway spec ${spec}: the cluster does not allow ${forbidden[1]} to exec into pods (RBAC: pods/exec, verb create).${stderrTail(s, 3)}`,
        {
          user: forbidden[1]!,
          host: 'the cluster',
          port: 0,
          methods: ['kubectl exec'],
        },
      );
    }
    if (/The connection to the server .* was refused|Unable to connect to the server|no configuration has been provided/i.test(s)) {
      return new ConnectError(`gateway spec ${spec}: kubectl on ${f.where} cannot reach the cluster's API server.${stderrTail(s, 3)}`);
    }
    if (/cannot exec into a container in a completed pod|container not running|is not running/i.test(s)) {
      return new ConnectError(`gateway spec ${spec}: ${t.target} is not running.${stderrTail(s, 3)}`);
    }
    return undefined;
  },
};
