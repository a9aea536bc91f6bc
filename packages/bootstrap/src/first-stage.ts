import { ExitCode } from '@tsnet/core/worker';

/**
 * The program passed to `node -e`. It reads one header line and the bundle from stdin, checks the
 * bundle's length and hash, and runs it, handing it the bytes that came after it (`rest`). It must parse on
 * every Node we support (18+) and stay small: over SSH it travels inside a shell command.
 *
 * The hash guards against truncation and corruption, not tampering (transports authenticate):
 * FNV-1a over little-endian 32-bit words in four interleaved lanes (see `bundleHash`). A JS loop is
 * the cheapest hash a fresh Node has: loading node:crypto for SHA-256 costs about 7 ms, node:zlib
 * for crc32 about 4 ms, a tiny WebAssembly module 0.9 ms; this loop 1.1-1.3 ms for the bundle.
 *
 * The compiled bundle is kept in a V8 code cache (see `CODE_CACHE`), which halves its compile and
 * first-run cost for every later start on that host. The cache file also holds the bundle it was
 * made from, checked against the hash when it was written: when the bytes that arrived are equal to
 * those (one memcmp), they are the bytes that hash matched, and the hash loop is skipped.
 *
 * Header line: `TSNET1 <bundle bytes> <hash hex> <config JSON>\n`
 */
export const FIRST_STAGE = [
  // Blocking reads of fd 0 until header and bundle are in: no stream (process.stdin costs a fresh
  // Node 4-6 ms), one copy of each byte. EAGAIN (a non-blocking stdin) waits 1 ms and reads again.
  "const F=require('fs');let b=Buffer.allocUnsafe(1<<17),l=0,n=-1,i,h;",
  'for(;;){if(l===b.length){const c=Buffer.allocUnsafe(2*l);b.copy(c,0,0,l);b=c}let r;',
  "try{r=F.readSync(0,b,l,b.length-l,null)}catch(e){if(e.code!=='EAGAIN')throw e;Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,1);continue}",
  // end of input: before anything arrived is a quiet end, inside the payload a truncated one
  'if(r===0){if(l===0)process.exit(0);x()}l+=r;',
  "if(n<0){i=b.indexOf(10);if(i<0||i>=l)continue;h=b.toString('latin1',0,i).split(' ');n=+h[1]||0;",
  'if(b.length<i+1+n){const c=Buffer.allocUnsafe(i+1+n);b.copy(c,0,0,l);b=c}}if(l>=i+1+n)break}',
  "const s=b.subarray(i+1,i+1+n),E=process.env;let k,v,D;if(h[0]!=='TSNET1')x();",
  // the code cache: a private directory of ours, or none. Its file starts with the bundle it was
  // made from (length, bytes), checked against the hash before it was written.
  // (Node only: Bun's JavaScriptCore makes no V8 cache, and Bun and Deno report a Node version of theirs)
  "if(E.TSNET_CODE_CACHE!=='0'&&!process.versions.bun&&!process.versions.deno)try{D=(E.XDG_CACHE_HOME||(E.HOME||require('os').homedir())+'/.cache')+'/tsnet';",
  'let t=F.lstatSync(D,{throwIfNoEntry:false});if(!t){F.mkdirSync(D,{recursive:true,mode:448});t=F.lstatSync(D)}',
  "if(t.isDirectory()&&t.uid===process.getuid()&&!(t.mode&18)){k=D+'/'+h[2]+'-'+process.version+'-'+process.arch+'.v8';",
  'try{const c=F.readFileSync(k);if(c.readUInt32LE(0)===n&&s.equals(c.subarray(4,4+n)))v=c.subarray(4+n)}catch(x){}}}catch(x){}',
  // the hash, unless the cache holds these very bytes: words read little-endian whatever the platform
  'if(!v){const w=new Int32Array(((n+15)>>4)<<2),u=Buffer.from(w.buffer);u.set(s);',
  'if(new Uint16Array(new Uint8Array([1,0]).buffer)[0]!==1)u.swap32();',
  'let a=-2128831035,c=a,e=a,g=a;for(let j=0;j<w.length;j+=4){a=Math.imul(a^w[j],16777619);',
  'c=Math.imul(c^w[j+1],16777619);e=Math.imul(e^w[j+2],16777619);g=Math.imul(g^w[j+3],16777619)}',
  'if(((a^c^e^g)>>>0).toString(16)!==h[2])x()}',
  // what came after the bundle (the first frames) goes to the bundle, which reads fd 0 itself
  "const o=JSON.parse(h.slice(3).join(' '));o.rest=b.subarray(i+1+n,l);",
  // compiles remote code here, where import() works (a vm.Script has none)
  'o.construct=function(C,a){return new C(...a)};',
  "const S=new(require('vm').Script)('(function(require,__tsnetBoot){'+s.toString('latin1')+'\\n})',{filename:'tsnet-bootstrap.js',cachedData:v});",
  // written once, at exit (when everything that ran is compiled), atomically; the 8 newest files stay
  "if(k&&(!v||S.cachedDataRejected))process.once('exit',()=>{try{const t=k+'.'+process.pid,L=Buffer.alloc(4);L.writeUInt32LE(n);",
  'F.writeFileSync(t,Buffer.concat([L,s,S.createCachedData()]),{mode:384});F.renameSync(t,k);',
  "for(const f of F.readdirSync(D).filter(f=>f.endsWith('.v8')).map(f=>[F.statSync(D+'/'+f).mtimeMs,f]).sort((p,q)=>q[0]-p[0]).slice(8))F.unlinkSync(D+'/'+f[1])}catch(x){}});",
  'S.runInThisContext()(require,o);',
  `function x(){process.stderr.write('tsnet: the bootstrap payload arrived corrupted (length or hash mismatch)\\n');process.exit(${ExitCode.CORRUPT_PAYLOAD})}`,
].join('');

export const HEADER_MAGIC = 'TSNET1';

/**
 * Where the bundle file's worker part ends and its server part begins (build.mjs writes it,
 * bundle() cuts there, check-bootstrap.mjs checks it). Only the worker part is injected: it is
 * read, hashed and compiled at every start.
 */
export const SERVER_PART_MARKER = '\n//# tsnet-server-part\n';

/**
 * Where the first stage keeps the V8 code cache of the bundle on a host: `$XDG_CACHE_HOME/tsnet`
 * or `~/.cache/tsnet`, one file per bundle hash, Node version and architecture, written once by the
 * first runtime that compiled it (at its exit, atomically): the bundle's length (u32 LE), the bundle,
 * then V8's data. A write removes all but the 8 newest files. The directory is used only when it is
 * ours and not writable by group or others (a planted cache would run as our code). V8 rejects a
 * cache from another V8 or with other flags, and it is then rewritten. `TSNET_CODE_CACHE=0` in the
 * remote's environment turns it off.
 */
export const CODE_CACHE = '$XDG_CACHE_HOME/tsnet or ~/.cache/tsnet';

/**
 * The hash the first stage checks, lowercase hex: FNV-1a (32-bit) over the bytes, zero-padded to a
 * multiple of 16 and read as little-endian 32-bit words, in four lanes (word j goes to lane j % 4),
 * the lanes XORed together.
 */
export function bundleHash(bytes: Uint8Array): string {
  // As the first stage does: words read little-endian whatever the platform.
  const words = new Int32Array(((bytes.length + 15) >> 4) << 2);
  const view = Buffer.from(words.buffer);
  view.set(bytes);
  if (new Uint16Array(new Uint8Array([1, 0]).buffer)[0] !== 1) view.swap32();
  let a = 0x811c9dc5 | 0;
  let b = a;
  let c = a;
  let d = a;
  for (let j = 0; j < words.length; j += 4) {
    a = Math.imul(a ^ words[j]!, 16777619);
    b = Math.imul(b ^ words[j + 1]!, 16777619);
    c = Math.imul(c ^ words[j + 2]!, 16777619);
    d = Math.imul(d ^ words[j + 3]!, 16777619);
  }
  return ((a ^ b ^ c ^ d) >>> 0).toString(16);
}
