import { makeGateway } from '@tsnet/core';
const gw = await makeGateway('popen', { output: 'inherit' });
const pid = (await gw.remoteInfo()).pid;
const ch = gw.remoteExec(`await new Promise((r) => setTimeout(r, ${process.argv[2]})); await channel.send(0); await new Promise((r) => setImmediate(r)); for (;;) {}`);
await ch.receive();
console.log(JSON.stringify([pid]));
setInterval(() => {}, 1000);
