/**
 * The bootstrap header line a client sends before its bundle (`TSNET1 <length> <hash>
 * <config>`, see first-stage.ts), as the socket server reads it: it keeps length and hash and
 * replaces the config with its own. A line longer than MAX_HEADER, or one that is not such a
 * header, is refused (`error`); an incomplete one asks for more bytes.
 */
import { HEADER_MAGIC } from './first-stage.js';

/** The bootstrap header line is short; anything longer is not a tsnet client. */
const MAX_HEADER = 4096;

export type HeaderRead = { more: true } | { more: false; error: string } | { more: false; error?: undefined; length: string; hash: string; rest: Buffer };

/** Reads the header from `buf` (all bytes so far). */
export function readHeader(buf: Buffer): HeaderRead {
  const nl = buf.indexOf(10);
  if (nl === -1) return buf.length > MAX_HEADER ? { more: false, error: 'sent no bootstrap header' } : { more: true };
  const fields = buf.toString('latin1', 0, nl).split(' ');
  const [magic, length = '', hash = ''] = fields;
  if (magic !== HEADER_MAGIC || !/^\d+$/.test(length) || !/^[0-9A-Za-z]+$/.test(hash)) return { more: false, error: 'sent no bootstrap header' };
  return { more: false, length, hash, rest: buf.subarray(nl + 1) };
}

/** The header line the child gets: the client's length and hash, the server's config. */
export function headerLine(length: string, hash: string, config: object): string {
  return `${HEADER_MAGIC} ${length} ${hash} ${JSON.stringify(config)}\n`;
}
