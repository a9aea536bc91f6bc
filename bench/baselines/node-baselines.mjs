// Baselines measured from Node, beside tsnet in the same run: what a hand-rolled child_process
// protocol gets. Adapted from ../shared/anchors/limits.js (same definitions), kept here so the suite
// does not depend on the shared folder for its Node baselines.
//
//   node bench/baselines/node-baselines.mjs <case> [options]
//
//   pipe_rtt                      node.pipe_rtt                   µs     1-byte ping-pong over a Node child's stdin/stdout
//   pipe_framed --item K --n N    node.pipe_framed.small_msgs[.K] msg/s  length-prefixed JSON frames, batched 64 KiB
//                                                                         writes, the child JSON.parses every frame
//   pipe_bw --dir D --mib M --n N node.pipe_bw[.recv][.Mmib]      MB/s   N writes of M MiB random bytes between two Node
//                                                                         processes (send: into the child's stdin;
//                                                                         recv: the child writes to its stdout)
//   ipc --ser json|advanced --what rtt|small|large
//                                 node.ipc_<ser>.{rtt,small_msgs,large_bytes}  child_process.fork IPC
//   tcp_rtt, tcp_bw               node.tcp_rtt, node.tcp_bw       loopback TCP to a Node child
//   ssh_cat --host H --mib M --n N ssh.raw_cat_bw                 MB/s   N × M MiB random bytes into `ssh H 'cat > /dev/null'`
//                                                                         (clock after the remote shell said ready, stopped
//                                                                         when cat finished; connection setup excluded)
// Throughput clocks start once the receiver is up and stop when the receiver's count comes back.
// Children start in their own session (detached), as tsnet's popen gateways do: with Linux autogroup
// scheduling a session is also a CPU share, and on a busy machine that share must be the same for both.
import { fork, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { costMeter, emit, exited, MiB, now, parseArgs, pingPong, round } from '../lib/common.mjs';

const SELF = fileURLToPath(import.meta.url);
const args = parseArgs(process.argv.slice(2), { valued: ['child', 'n', 'warm', 'item', 'mib', 'dir', 'ser', 'what', 'host'] });

const ITEMS = {
  int: 12345,
  /** the same int as a binary frame: u32 length 4, int32 LE (pipe_framed only) */
  int32: 12345,
  string: 'short string #12345',
  object: { id: 12345, name: 'item', ok: true, tags: ['a', 'b'] },
};

// ------------------------------------------------------------------ child roles

function childMain(role, a) {
  switch (role) {
    case 'pipe-sink': {
      process.stdout.write('ready\n');
      let n = 0;
      process.stdin.on('data', (d) => {
        n += d.length;
      });
      process.stdin.on('end', () => process.stdout.write(String(n)));
      break;
    }
    case 'pipe-source': {
      // waits for one byte on stdin, then writes n × size bytes to stdout
      const n = Number(a[0]);
      const size = Number(a[1]);
      const buf = randomFillSync(Buffer.allocUnsafe(size));
      process.stdin.once('data', async () => {
        for (let i = 0; i < n; i++) {
          if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
        }
        process.stdout.end();
      });
      process.stderr.write('ready\n');
      break;
    }
    case 'framed-sink': {
      process.stdout.write('ready\n');
      let pending = null;
      let n = 0;
      process.stdin.on('data', (d) => {
        const buf = pending ? Buffer.concat([pending, d]) : d;
        let off = 0;
        while (off + 4 <= buf.length) {
          const len = buf.readUInt32LE(off);
          if (off + 4 + len > buf.length) break;
          JSON.parse(buf.toString('utf8', off + 4, off + 4 + len));
          n++;
          off += 4 + len;
        }
        pending = off < buf.length ? buf.subarray(off) : null;
      });
      process.stdin.on('end', () => process.stdout.write(String(n)));
      break;
    }
    case 'int32-sink': {
      // length-prefixed int32 frames: u32 length (4), then the int32 (LE); parsed one by one
      process.stdout.write('ready\n');
      let pending = null;
      let n = 0;
      let sum = 0;
      process.stdin.on('data', (d) => {
        const buf = pending ? Buffer.concat([pending, d]) : d;
        let off = 0;
        while (off + 4 <= buf.length) {
          const len = buf.readUInt32LE(off);
          if (off + 4 + len > buf.length) break;
          sum = (sum + buf.readInt32LE(off + 4)) | 0;
          n++;
          off += 4 + len;
        }
        pending = off < buf.length ? buf.subarray(off) : null;
      });
      process.stdin.on('end', () => process.stdout.write(String(n + (sum & 0))));
      break;
    }
    case 'pipe-echo':
      process.stdin.on('data', (d) => process.stdout.write(d));
      break;
    case 'ipc-echo':
      process.on('message', (m) => {
        if (m === 'end') process.disconnect();
        else process.send(m);
      });
      break;
    case 'ipc-count': {
      process.send('ready');
      let n = 0;
      let bytes = 0;
      process.on('message', (m) => {
        if (m === 'end') {
          process.send({ n, bytes }, () => process.disconnect());
          return;
        }
        n++;
        if (m && typeof m === 'object') bytes += m.byteLength ?? (m.data ? m.data.length : 0);
      });
      break;
    }
    case 'tcp-sink': {
      const expected = Number(a[0]);
      const srv = net.createServer((sock) => {
        let n = 0;
        sock.on('data', (d) => {
          n += d.length;
          if (n >= expected) {
            sock.end('done');
            srv.close();
          }
        });
      });
      srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
      break;
    }
    case 'tcp-echo': {
      const srv = net.createServer((sock) => {
        sock.setNoDelay(true);
        sock.on('data', (d) => sock.write(d));
        sock.on('end', () => {
          sock.end();
          srv.close();
        });
      });
      srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
      break;
    }
    default:
      throw new Error(`unknown child role ${role}`);
  }
}

// ------------------------------------------------------------------ helpers

const self = (role, ...rest) => [SELF, '--child', role, ...rest];

function startSink(role, ...rest) {
  const child = spawn(process.execPath, self(role, ...rest), { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onReady;
  const ready = new Promise((r) => {
    onReady = r;
  });
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
    if (out.startsWith('ready\n')) onReady();
  });
  const result = new Promise((r) => child.stdout.on('end', () => r(out.slice('ready\n'.length))));
  return { child, ready, result };
}

function readLine(stream) {
  return new Promise((res, rej) => {
    let buf = '';
    const on = (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        stream.off('data', on);
        res(buf.slice(0, i));
      }
    };
    stream.on('data', on);
    stream.once('error', rej);
  });
}

async function writeTimes(stream, buf, n) {
  for (let i = 0; i < n; i++) {
    if (!stream.write(buf)) await new Promise((r) => stream.once('drain', r));
  }
}

const randomPayload = (size) => randomFillSync(Buffer.allocUnsafe(size));
const bwName = (base, dir, mib) => `${base}${dir === 'recv' ? '.recv' : ''}${mib === 4 ? '' : `.${mib}mib`}`;

// ------------------------------------------------------------------ cases

async function pipeRtt() {
  const n = Number(args.n ?? 20000);
  const warm = Number(args.warm ?? 1000);
  const child = spawn(process.execPath, self('pipe-echo'), { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  let handler;
  child.stdout.on('data', (d) => handler(d));
  const w = (b) => child.stdin.write(b);
  const set = (h) => {
    handler = h;
  };
  await pingPong(w, set, warm);
  const meter = costMeter(process.pid, child.pid);
  meter.start();
  const ms = await pingPong(w, set, n);
  const cost = meter.stop(n);
  child.stdin.end();
  await exited(child);
  emit('node', 'node.pipe_rtt', (ms / n) * 1000, 'us', { n, ...cost });
}

async function pipeFramed() {
  const n = Number(args.n ?? 1000000);
  const kind = args.item ?? 'int';
  const item = ITEMS[kind];
  const binary = kind === 'int32';
  const { child, ready, result } = startSink(binary ? 'int32-sink' : 'framed-sink');
  await ready;
  const CHUNK = 64 * 1024;
  let chunk = Buffer.allocUnsafe(CHUNK);
  let off = 0;
  const flush = async () => {
    const ok = child.stdin.write(chunk.subarray(0, off));
    chunk = Buffer.allocUnsafe(CHUNK); // the stream keeps a reference to the old one
    off = 0;
    if (!ok) await new Promise((r) => child.stdin.once('drain', r));
  };
  const meter = costMeter(process.pid, child.pid);
  meter.start();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    if (off + 512 > CHUNK) await flush();
    if (binary) {
      chunk.writeUInt32LE(4, off);
      chunk.writeInt32LE(12345, off + 4);
      off += 8;
      continue;
    }
    const len = chunk.write(JSON.stringify(item), off + 4);
    chunk.writeUInt32LE(len, off);
    off += 4 + len;
  }
  await flush();
  child.stdin.end();
  const out = await result;
  const dt = (now() - t0) / 1000;
  const cost = meter.stop(n);
  await exited(child);
  if (Number(out) !== n) throw new Error(`framed-sink got ${out}, expected ${n}`);
  const name = kind === 'int' ? 'node.pipe_framed.small_msgs' : `node.pipe_framed.small_msgs.${kind}`;
  emit('node', name, n / dt, 'msg/s', { n, item: JSON.stringify(item), batch: CHUNK, seconds: round(dt), ...cost });
}

async function pipeBw() {
  const mib = Number(args.mib ?? 4);
  const n = Number(args.n ?? 200);
  const dir = args.dir ?? 'send';
  const size = mib * MiB;
  let dt;
  let cost = {};
  if (dir === 'send') {
    const { child, ready, result } = startSink('pipe-sink');
    await ready;
    const buf = randomPayload(size);
    const meter = costMeter(process.pid, child.pid);
    meter.start();
    const t0 = now();
    await writeTimes(child.stdin, buf, n);
    child.stdin.end();
    const out = await result;
    dt = (now() - t0) / 1000;
    cost = meter.stop(n);
    await exited(child);
    if (Number(out) !== n * size) throw new Error(`pipe-sink got ${out}, expected ${n * size}`);
  } else {
    const child = spawn(process.execPath, self('pipe-source', String(n), String(size)), { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    await readLine(child.stderr.setEncoding('utf8'));
    let got = 0;
    const done = new Promise((r) => child.stdout.on('end', r));
    child.stdout.on('data', (d) => {
      got += d.length;
    });
    const meter = costMeter(process.pid, child.pid);
    meter.start();
    const t0 = now();
    child.stdin.write('g');
    await done;
    dt = (now() - t0) / 1000;
    cost = meter.stop(n);
    child.stdin.end();
    await exited(child);
    if (got !== n * size) throw new Error(`pipe-source sent ${got}, expected ${n * size}`);
  }
  emit('node', bwName('node.pipe_bw', dir, mib), (n * size) / dt / 1e6, 'MB/s', { n, msg_mib: mib, dir, seconds: round(dt), ...cost });
}

async function ipc() {
  const ser = args.ser ?? 'advanced';
  const what = args.what ?? 'rtt';
  if (what === 'rtt') {
    const n = Number(args.n ?? 20000);
    const warm = Number(args.warm ?? 1000);
    const child = fork(SELF, ['--child', 'ipc-echo'], { serialization: ser, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const run = (count) =>
      new Promise((res) => {
        let i = 0;
        const t0 = now();
        const on = () => {
          if (++i < count) child.send(i);
          else {
            child.off('message', on);
            res(now() - t0);
          }
        };
        child.on('message', on);
        child.send(0);
      });
    await run(warm);
    const ms = await run(n);
    child.send('end');
    await exited(child);
    emit('node', `node.ipc_${ser}.rtt`, (ms / n) * 1000, 'us', { n });
    return;
  }
  const large = what === 'large';
  const n = Number(args.n ?? (large ? 200 : 200000));
  const item = large ? randomPayload(Number(args.mib ?? 4) * MiB) : 12345;
  const window = large ? 4 : 1024;
  const child = fork(SELF, ['--child', 'ipc-count'], { serialization: ser, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('message', r)); // 'ready'
  const reply = new Promise((r) => child.once('message', r));
  let written = 0;
  let waiter = null;
  const onWritten = (err) => {
    if (err) throw err;
    written++;
    if (waiter && waiter.until <= written) {
      const w = waiter;
      waiter = null;
      w.res();
    }
  };
  const t0 = now();
  for (let i = 0; i < n; i++) {
    child.send(item, onWritten);
    if (i + 1 - written > window) await new Promise((res) => (waiter = { until: i + 1 - window, res }));
  }
  child.send('end');
  const r = await reply;
  const dt = (now() - t0) / 1000;
  await exited(child);
  if (r.n !== n) throw new Error(`ipc-count got ${r.n}, expected ${n}`);
  if (large) {
    emit('node', `node.ipc_${ser}.large_bytes`, r.bytes / dt / 1e6, 'MB/s', { n, msg_mib: item.length / MiB, seconds: round(dt) });
  } else {
    emit('node', `node.ipc_${ser}.small_msgs`, n / dt, 'msg/s', { n, item: '12345', seconds: round(dt) });
  }
}

async function tcpRtt() {
  const n = Number(args.n ?? 20000);
  const warm = Number(args.warm ?? 1000);
  const child = spawn(process.execPath, self('tcp-echo'), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await readLine(child.stdout.setEncoding('utf8')));
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  let handler;
  sock.on('data', (d) => handler(d));
  const w = (b) => sock.write(b);
  const set = (h) => {
    handler = h;
  };
  await pingPong(w, set, warm);
  const ms = await pingPong(w, set, n);
  sock.end();
  await exited(child);
  emit('node', 'node.tcp_rtt', (ms / n) * 1000, 'us', { n });
}

async function tcpBw() {
  const mib = Number(args.mib ?? 4);
  const n = Number(args.n ?? 200);
  const size = mib * MiB;
  const child = spawn(process.execPath, self('tcp-sink', String(n * size)), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await readLine(child.stdout.setEncoding('utf8')));
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const done = new Promise((r) => sock.once('data', r));
  const buf = randomPayload(size);
  const t0 = now();
  await writeTimes(sock, buf, n);
  await done;
  const dt = (now() - t0) / 1000;
  sock.destroy();
  await exited(child);
  emit('node', bwName('node.tcp_bw', 'send', mib), (n * size) / dt / 1e6, 'MB/s', { n, msg_mib: mib, seconds: round(dt) });
}

async function sshCat() {
  const host = String(args.host ?? 'tsnet-local');
  const mib = Number(args.mib ?? 4);
  const n = Number(args.n ?? 50);
  const size = mib * MiB;
  const child = spawn('ssh', ['-o', 'BatchMode=yes', host, 'echo ready; cat > /dev/null; echo done'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = child.stdout.setEncoding('utf8');
  const first = await readLine(out);
  if (first !== 'ready') throw new Error(`ssh ${host}: expected "ready", got ${JSON.stringify(first)}`);
  const done = readLine(out);
  const buf = randomPayload(size);
  const t0 = now();
  await writeTimes(child.stdin, buf, n);
  child.stdin.end();
  const last = await done;
  const dt = (now() - t0) / 1000;
  await exited(child);
  if (last !== 'done') throw new Error(`ssh ${host}: expected "done", got ${JSON.stringify(last)}`);
  emit('ssh', bwName('ssh.raw_cat_bw', 'send', mib), (n * size) / dt / 1e6, 'MB/s', {
    n,
    msg_mib: mib,
    host,
    seconds: round(dt),
    command: `ssh ${host} 'cat > /dev/null'`,
  });
}

const cases = { pipe_rtt: pipeRtt, pipe_framed: pipeFramed, pipe_bw: pipeBw, ipc, tcp_rtt: tcpRtt, tcp_bw: tcpBw, ssh_cat: sshCat };

if (process.argv[2] === '--child') {
  childMain(process.argv[3], process.argv.slice(4));
} else {
  const which = args._[0];
  if (!cases[which]) {
    console.error(`usage: node bench/baselines/node-baselines.mjs ${Object.keys(cases).join('|')} [options]`);
    process.exit(2);
  }
  try {
    await cases[which]();
    process.exit(0);
  } catch (error) {
    console.error(`node-baselines ${which}: ${error?.stack ?? error}`);
    process.exit(1);
  }
}
