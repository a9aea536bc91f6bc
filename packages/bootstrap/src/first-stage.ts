/**
 * The program passed to `node -e`. It reads one header line and the bundle from stdin, checks the
 * bundle's length and hash, and runs it, handing it the bytes that came after it (`rest`). It must parse on
 * every Node we support (18+) and stay small: over SSH it travels inside a shell command.
 *
 * The hash guards against truncation and corruption, not tampering (transports authenticate):
 * FNV-1a over little-endian 32-bit words in four interleaved lanes (see `bundleHash`). A JS loop is
 * the cheapest hash a fresh Node has: loading node:crypto for SHA-256 costs about 7 ms, node:zlib
 * for crc32 about 4 ms; this loop about 2.5 ms for the bundle, a byte-wise FNV-1a 4-5 ms.
 *
 * The compiled bundle is kept in a V8 code cache (see `CODE_CACHE`), which halves its compile and
 * first-run cost for every later start on that host.
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
  'const s=b.subarray(i+1,i+1+n);',
  // the hash: words read little-endian whatever the platform
  'const w=new Int32Array(((n+15)>>4)<<2),u=Buffer.from(w.buffer);u.set(s);',
  'if(new Uint16Array(new Uint8Array([1,0]).buffer)[0]!==1)u.swap32();',
  'let a=-2128831035,c=a,e=a,g=a;for(let j=0;j<w.length;j+=4){a=Math.imul(a^w[j],16777619);',
  'c=Math.imul(c^w[j+1],16777619);e=Math.imul(e^w[j+2],16777619);g=Math.imul(g^w[j+3],16777619)}',
  "if(h[0]!=='TSNET1'||((a^c^e^g)>>>0).toString(16)!==h[2])x();",
  // what came after the bundle (the first frames) goes to the bundle, which reads fd 0 itself
  "const o=JSON.parse(h.slice(3).join(' '));o.rest=b.subarray(i+1+n,l);let k,v;",
  // compiles remote code here, where import() works (a vm.Script has none)
  'o.construct=function(C,a){return new C(...a)};',
  // the code cache: a private directory of ours, or none
  "if(process.env.TSNET_CODE_CACHE!=='0')try{const D=(process.env.XDG_CACHE_HOME||require('os').homedir()+'/.cache')+'/tsnet';",
  'F.mkdirSync(D,{recursive:true,mode:448});const t=F.lstatSync(D);',
  "if(t.isDirectory()&&t.uid===process.getuid()&&!(t.mode&18)){k=D+'/'+h[2]+'-'+process.version+'-'+process.arch+'.v8';",
  'try{v=F.readFileSync(k)}catch(x){}}}catch(x){}',
  "const S=new(require('vm').Script)('(function(require,__tsnetBoot){'+s.toString('latin1')+'\\n})',{filename:'tsnet-bootstrap.js',cachedData:v});",
  "if(k&&(!v||S.cachedDataRejected))process.once('exit',function(){try{const t=k+'.'+process.pid;",
  'F.writeFileSync(t,S.createCachedData(),{mode:384});F.renameSync(t,k)}catch(x){}});',
  'S.runInThisContext()(require,o);',
  "function x(){process.stderr.write('tsnet: the bootstrap payload arrived corrupted (length or hash mismatch)\\n');process.exit(97)}",
].join('');

export const HEADER_MAGIC = 'TSNET1';

/**
 * Where the first stage keeps the V8 code cache of the bundle on a host: `$XDG_CACHE_HOME/tsnet`
 * or `~/.cache/tsnet`, one file per bundle hash, Node version and architecture, written once by the
 * first runtime that compiled it (at its exit, atomically). The directory is used only when it is
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
