/**
 * Bun (`bun test`) and Deno (`deno test`) run node:test files with their own runners, which report
 * as JUnit XML rather than as node:test events: this turns that XML into the same events. Every
 * top-level `<testsuite>` is a file (its children are at nesting 0); a nested `<testsuite>` (Bun's
 * describe) is a suite; a `<testcase>` is a test, failed by a `<failure>`/`<error>` child, skipped
 * by `<skipped>`. Deno flattens steps to names like `suite > inner`, and they stay so. Unknown tags
 * are ignored; malformed XML yields what was read up to the fault (the file's exit code still
 * decides whether it failed).
 */
import type { TestEvent } from './events.js';

interface Node {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e] ?? whole;
  });
}

function parseXml(xml: string): Node {
  const root: Node = { tag: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const token = /<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([\w:-]+)((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|<[?!][^>]*>|([^<]+)/g;
  for (const m of xml.matchAll(token)) {
    const top = stack[stack.length - 1] ?? root;
    if (m[1] !== undefined) top.text += m[1];
    else if (m[6] !== undefined) top.text += decodeEntities(m[6]);
    else if (m[3] !== undefined) {
      if (m[2] === '/') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const attrs: Record<string, string> = {};
      for (const a of (m[4] ?? '').matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1] as string] = decodeEntities(a[2] ?? '');
      const node: Node = { tag: m[3], attrs, children: [], text: '' };
      top.children.push(node);
      if (m[5] !== '/') stack.push(node);
    }
  }
  return root;
}

/** The node:test events of one file's JUnit report. */
export function junitToEvents(xml: string, file: string): TestEvent[] {
  const events: TestEvent[] = [];
  const walk = (node: Node, nesting: number): boolean => {
    let failed = false;
    let number = 0;
    for (const child of node.children) {
      if (child.tag !== 'testcase' && child.tag !== 'testsuite') continue;
      number++;
      const name = child.attrs.name ?? '';
      const base = { nesting, name, file, ...(child.attrs.line ? { line: Number(child.attrs.line), column: Number(child.attrs.col ?? 1) } : {}) };
      const duration_ms = Number(child.attrs.time ?? 0) * 1000;
      events.push({ type: 'test:start', data: base });
      if (child.tag === 'testsuite') {
        const subFailed = walk(child, nesting + 1);
        failed ||= subFailed;
        const details = subFailed
          ? { duration_ms, type: 'suite', error: Object.assign(new Error('1 subtest failed'), { code: 'ERR_TEST_FAILURE', failureType: 'subtestsFailed' }) }
          : { duration_ms, type: 'suite' };
        events.push({ type: subFailed ? 'test:fail' : 'test:pass', data: { ...base, testNumber: number, details } });
        continue;
      }
      const failure = child.children.find((c) => c.tag === 'failure' || c.tag === 'error');
      const skipped = child.children.some((c) => c.tag === 'skipped');
      if (failure) {
        failed = true;
        const text = failure.text.trim();
        const message = (failure.attrs.message ?? failure.attrs.type ?? 'failed').replace(/^Uncaught /, '');
        const cause = new Error(message);
        // inspect() brackets an error whose stack does not start with its name: take the name from the stack.
        const errorName = /^([A-Za-z_$][\w$]*(?:Error|Exception))\b/.exec(text)?.[1] ?? failure.attrs.type;
        if (errorName) Object.defineProperty(cause, 'name', { value: errorName, configurable: true, writable: true });
        Object.defineProperty(cause, 'stack', { value: text || message, configurable: true, writable: true });
        const error = Object.assign(new Error('test failed', { cause }), { code: 'ERR_TEST_FAILURE', failureType: 'testCodeFailure' });
        events.push({ type: 'test:fail', data: { ...base, testNumber: number, details: { duration_ms, error, type: 'test' } } });
      } else {
        events.push({ type: 'test:pass', data: { ...base, testNumber: number, ...(skipped ? { skip: true } : {}), details: { duration_ms, type: 'test' } } });
      }
    }
    if (nesting > 0) events.push({ type: 'test:plan', data: { nesting, count: number, file } });
    return failed;
  };
  const root = parseXml(xml);
  for (const suites of root.children.filter((c) => c.tag === 'testsuites'))
    for (const fileSuite of suites.children.filter((c) => c.tag === 'testsuite')) walk(fileSuite, 0);
  return events;
}
