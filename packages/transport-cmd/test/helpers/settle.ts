/**
 * A killed process takes a moment to be gone (a runtime with many threads, a loaded machine): polls
 * `probe` until it returns an empty list or `withinMs` passed, and returns its last answer.
 */
export async function emptied<T>(probe: () => T[] | Promise<T[]>, withinMs = 5000): Promise<T[]> {
  const until = Date.now() + withinMs;
  for (;;) {
    const left = await probe();
    if (left.length === 0 || Date.now() >= until) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}
