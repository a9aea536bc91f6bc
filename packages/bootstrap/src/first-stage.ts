/**
 * The program passed to `node -e`. It reads one header line and the bundle from stdin, checks the
 * bundle's length and FNV-1a hash, puts any bytes after it back onto stdin, and runs it. It must parse
 * on every Node we support (18+) and stay small: over SSH it travels inside a shell command.
 * The hash guards against truncation and corruption, not tampering (transports authenticate): a JS
 * FNV-1a costs well under a millisecond, where loading node:crypto for SHA-256 costs about 7 ms of
 * every gateway's startup.
 *
 * Header line: `TSNET1 <bundle bytes> <fnv1a-32 hex> <config JSON>\n`
 */
export const FIRST_STAGE = [
  'const p=process.stdin;let b=Buffer.alloc(0);',
  'function f(d){b=Buffer.concat([b,d]);const i=b.indexOf(10);if(i<0)return;',
  "const h=b.toString('latin1',0,i).split(' ');const n=+h[1];if(b.length<i+1+n)return;",
  "p.removeListener('data',f);p.pause();const s=b.subarray(i+1,i+1+n);",
  'let x=2166136261;for(let j=0;j<n;j++)x=Math.imul(x^s[j],16777619);',
  "if(h[0]!=='TSNET1'||(x>>>0).toString(16)!==h[2]){",
  "process.stderr.write('tsnet: the bootstrap payload arrived corrupted (length or hash mismatch)\\n');process.exit(97)}",
  'const r=b.subarray(i+1+n);if(r.length)p.unshift(r);',
  "new Function('require','__tsnetBoot',s.toString())(require,JSON.parse(h.slice(3).join(' ')))}",
  "p.on('data',f);p.on('end',function(){if(b.length===0)process.exit(0)})",
].join('');

export const HEADER_MAGIC = 'TSNET1';

/** The hash the first stage checks: 32-bit FNV-1a, lowercase hex. */
export function fnv1a(bytes: Uint8Array): string {
  let x = 2166136261;
  for (let j = 0; j < bytes.length; j++) x = Math.imul(x ^ bytes[j]!, 16777619);
  return (x >>> 0).toString(16);
}
