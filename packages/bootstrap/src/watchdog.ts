/** The remote's parent-death watchdog (a worker thread of its own); see startWatchdog. */
/**
 * When the local process dies without closing our stdin (SIGKILL while we are busy), a thread of
 * our own notices the parent change and ends us (and our process group for popen). It starts
 * 150 ms after boot, off the handshake's path, or before the first remote code runs, whichever
 * comes first; the returned function starts it now. With `watch` (a gateway started by an ssh
 * spawner, see spawner.ts) it watches that process instead: the SSH connection's sshd process.
 */
export function startWatchdog(killGroup: boolean, watch?: number): () => void {
  const ppid = process.ppid;
  let started = false;
  const begin = (): void => {
    if (started) return;
    started = true;
    clearTimeout(timer);
    try {
      // Loaded here, not at the top: worker_threads costs startup time and the watchdog starts later.
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      const w = new Worker(
        `const {workerData:d}=require('worker_threads');const gone=()=>{if(!d.w)return process.ppid!==d.ppid;try{process.kill(d.w,0);return false}catch(e){return e.code==='ESRCH'}};` +
          `setInterval(()=>{if(gone()){try{if(d.group)process.kill(-d.pid,'SIGKILL')}catch{}process.kill(d.pid,'SIGKILL')}},200)`,
        { eval: true, workerData: { ppid, pid: process.pid, group: killGroup, w: watch }, stdout: false, stderr: false },
      );
      w.on('error', () => {}); // a runtime whose workers lack something: stdin EOF still ends us
      w.unref();
    } catch {
      // no worker threads on this runtime: stdin EOF still ends us
    }
  };
  const timer = setTimeout(begin, 150);
  timer.unref();
  return begin;
}
