// Time to open a gateway: popen beside socket= (TCP, with the default spare child and with
// --spare 0), ws= and socket=…//tls against local server processes, on the built packages (npm
// run build first). Gateways are opened one after another, so the spare is back in between.
//
//   node bench/socket-open.mjs [--runs 20]
//
// "open" is makeGateway() until it resolves (connect, authenticate, spawn the child, send the
// bootstrap, handshake); "open+exec+exit" adds one remoteExec round trip and gw.exit().
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BOOTSTRAP_FILE } from '@tsnet/bootstrap';
import { parseArgs } from './lib/common.mjs';
import { formatSpread, spread, timeGatewayStart } from './lib/gateway-start.mjs';

const runs = parseArgs(process.argv.slice(2), { valued: ['runs'] }).runs ?? 20;
const dir = mkdtempSync(join(tmpdir(), 'tsnet-bench-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, randomBytes(32).toString('hex'), { mode: 0o600 });
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
  { stdio: 'ignore' },
);
const fingerprint = new X509Certificate(readFileSync(cert)).fingerprint256;

async function startServer(args) {
  const proc = spawn(process.execPath, [BOOTSTRAP_FILE, 'serve', '--listen', '127.0.0.1:0', '--token-file', tokenFile, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  for await (const line of createInterface({ input: proc.stdout })) {
    const m = /^listening on (.+)$/.exec(line);
    if (m) return { proc, address: m[1] };
  }
  throw new Error('the server did not start');
}

async function measure(spec) {
  const open = [];
  const full = [];
  for (let i = 0; i < runs + 2; i++) {
    const t = await timeGatewayStart(spec);
    if (i >= 2) {
      // the first two warm up this process (module loading, TLS context)
      open.push(t.open);
      full.push(t.full);
    }
  }
  return { open: spread(open), full: spread(full) };
}

const plain = await startServer([]);
const onDemand = await startServer(['--spare', '0']);
const secure = await startServer(['--tls-cert', cert, '--tls-key', key]);
const specs = [
  ['popen', 'popen'],
  ['socket= (TCP)', `socket=${plain.address}//token-file=${tokenFile}`],
  ['socket= (--spare 0)', `socket=${onDemand.address}//token-file=${tokenFile}`],
  ['ws= (WebSocket)', `ws=ws://${plain.address}/tsnet//token-file=${tokenFile}`],
  ['socket=…//tls (pinned)', `socket=${secure.address}//tls//tls-fingerprint=${fingerprint}//token-file=${tokenFile}`],
];
try {
  console.log(`time to open a gateway, ${runs} runs each after 2 warm-ups (ms; median / p90 / min)`);
  console.log(`${'spec'.padEnd(24)} ${'open'.padEnd(22)} open+exec+exit`);
  for (const [name, spec] of specs) {
    const r = await measure(spec);
    console.log(`${name.padEnd(24)} ${formatSpread(r.open)} ${formatSpread(r.full)}`);
  }
  console.log(`bundle ${readFileSync(BOOTSTRAP_FILE).length} B, node ${process.version}`);
} finally {
  plain.proc.kill('SIGTERM');
  onDemand.proc.kill('SIGTERM');
  secure.proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
