/**
 * The agent's source for remoteExec: dist/agent.js, made by build.mjs (esbuild: one IIFE with
 * hash-wasm's wasm and ignore inside, so the remote side needs nothing installed), read once.
 */
import { readFileSync } from 'node:fs';
import { RSyncError } from './errors.js';

let source: string | undefined;

export function agentSource(): string {
  if (source !== undefined) return source;
  const url = new URL('../dist/agent.js', import.meta.url);
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (error) {
    throw new RSyncError(`the rsync agent bundle ${url.pathname} is missing: build the package first (npm run build)`, { cause: error });
  }
  source = `${text}\nreturn __tsnetRsyncAgent.main(channel, kwargs);`;
  return source;
}
