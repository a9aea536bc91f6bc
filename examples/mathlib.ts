// A module whose function exports gw.call(url, name, ...args) calls (see call.ts).
export function double(n: number): number {
  return n * 2;
}
