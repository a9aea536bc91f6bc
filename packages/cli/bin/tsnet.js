#!/usr/bin/env node
// The `tsnet` command; the code is in dist/ (npm run build). No top-level await: `tsnet serve`
// never settles main()'s promise (the server ends the process itself).
import { main } from '../dist/index.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
