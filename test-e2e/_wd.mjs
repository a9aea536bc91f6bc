import { makeGateway } from '@tsnet/core';
const gw = await makeGateway('popen', { output: 'inherit' });
await new Promise((r) => setTimeout(r, 500));
const ch = gw.remoteExec(`const fs = require('fs'); channel.send(fs.readdirSync('/proc/self/task').map((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim()))`);
console.log(await ch.receive());
await gw.exit();
