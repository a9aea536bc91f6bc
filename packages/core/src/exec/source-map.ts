import { SourceMap } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The source map of a bundled module source, kept on the local side: the remote runs the bundle
 * without one (smaller), and its stack frames are mapped back here when the RemoteError is built.
 * Host only.
 *
 * The remote compiles the bundle as a function body named `filename`; V8, JavaScriptCore (bun) and
 * Deno all count the two lines of the function header (`function anonymous(…\n) {\n`), so bundle
 * line L is stack line L + 2.
 * Frames of other files, and frames the map does not cover, are left as they are.
 */
export class ModuleSourceMap {
  readonly filename: string;
  readonly #map: SourceMap;
  readonly #root: string;

  constructor(filename: string, map: object, root: string) {
    this.filename = filename;
    this.#map = new SourceMap(map as never);
    this.#root = root;
  }

  mapStack(stack: string): string {
    const escaped = this.filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // V8 writes `name:L:C`; Deno, for code made by new Function, `name, <anonymous>:L:C`
    const frame = new RegExp(`(?:[^\\s(]*/)?${escaped}(?:, <anonymous>)?:(\\d+):(\\d+)`, 'g');
    return stack.replace(frame, (whole, line: string, column: string) => {
      const entry = this.#map.findEntry(Number(line) - 3, Number(column) - 1) as {
        originalSource?: string;
        originalLine?: number;
        originalColumn?: number;
      };
      if (!entry?.originalSource || entry.originalLine === undefined) return whole;
      return `${this.#source(entry.originalSource)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
    });
  }

  #source(source: string): string {
    return source.startsWith('file:') ? fileURLToPath(source) : resolve(this.#root, source);
  }
}
