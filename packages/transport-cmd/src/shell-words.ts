/**
 * Splits a command line into words the way a POSIX shell does, without running one: blanks
 * separate words; '…' keeps everything literally; "…" keeps everything but lets a backslash escape
 * `"`, `\`, `$`, `` ` `` and a newline; a backslash outside quotes escapes the next character.
 * Nothing is expanded: `$HOME`, `*` and `~` stay as written (there is no shell to expand them).
 * An unterminated quote or a trailing backslash throws a SpecError naming the spec.
 */
import { SpecError } from '@tsnet/core/transport';

export function shellWords(line: string, specText: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) {
        const next = line[++i]!;
        if (next !== '\n') word += next;
      } else word += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\') {
      if (i + 1 >= line.length) throw new SpecError(`gateway spec ${JSON.stringify(specText)}: the command line ends with a lone backslash`);
      const next = line[++i]!;
      if (next !== '\n') word += next;
    } else word += c;
  }
  if (quote) throw new SpecError(`gateway spec ${JSON.stringify(specText)}: the command line has an unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}
