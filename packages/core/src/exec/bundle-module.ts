import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceError } from '../errors.js';
import { ModuleSourceMap } from './source-map.js';

/** How esbuild is loaded: a parameter, so a test can stand in a loader that fails as a missing package does. */
export type EsbuildLoader = () => Promise<typeof import('esbuild')>;

const loadEsbuild: EsbuildLoader = () => import('esbuild');

export interface BundleOptions {
  /** Bundle npm dependencies too (`bundle: 'all'`); native addons are refused. Default: they stay require() calls. */
  all?: boolean;
  load?: EsbuildLoader;
  /**
   * Bundle an entry that calls this export of the module with the channel's kwargs as its
   * arguments and sends back what it returns (gw.call(url, name, ...args)).
   */
  callExport?: string;
}

export interface BundledModule {
  code: string;
  /** Kept on the local side; maps the remote stack back to the module's files. */
  sourceMap: ModuleSourceMap;
}

interface CacheEntry {
  /** Every input file and the hash of its content when bundled. */
  inputs: Array<[path: string, hash: string]>;
  code: string;
  map: object;
  root: string;
}

/** Bundles by module and mode; an entry is reused while every input file has the same content. */
const cache = new Map<string, CacheEntry>();
let moduleCounter = 0;

const hash = (bytes: Uint8Array | string): string => createHash('sha1').update(bytes).digest('hex');

/** Packages that load a compiled addon at run time: a bundle cannot carry what they load. */
const NATIVE_LOADERS = /^(bindings|node-gyp-build|node-pre-gyp|@mapbox\/node-pre-gyp|prebuild-install|node-addon-api)$/;

/**
 * Bundles a module with its relative imports into one CommonJS function body for remote execution.
 * Bare imports (packages, node: builtins) stay `require()` calls resolved on the remote side, from
 * its working directory, unless `all`: then packages are bundled too (builtins stay), and a package
 * with a native addon (a `.node` file, or a loader such as `bindings`) is a SourceError naming it.
 * Host only. esbuild is an optional peer dependency of @tsnet/core, loaded only when a module is
 * shipped: without it, strings and functions work and this throws a SourceError that says to
 * install it. Results are cached by the content of every input file. A bundling failure is a
 * SourceError naming the file and line of each esbuild error.
 */
export async function bundleModule(url: URL, options: BundleOptions = {}): Promise<BundledModule> {
  const file = fileURLToPath(url);
  const name = options.callExport;
  const key = `${options.all ? 'all' : 'local'} ${name === undefined ? '' : `call:${name} `}${file}`;
  const hit = cache.get(key);
  if (hit && (await unchanged(hit.inputs))) return made(hit, file);
  const esbuild = await loadWith(url, options.load ?? loadEsbuild);
  const root = dirname(file);
  try {
    const result = await esbuild.build({
      ...(name === undefined
        ? { entryPoints: [file] }
        : { stdin: { contents: callEntry(file, name), resolveDir: root, sourcefile: CALL_ENTRY, loader: 'js' as const } }),
      absWorkingDir: root,
      outfile: 'out.js',
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'node',
      target: 'node18',
      ...(options.all ? { plugins: [refuseNativeAddons()] } : { packages: 'external' as const }),
      sourcemap: 'external',
      sourcesContent: false,
      logLevel: 'silent',
      keepNames: false,
    });
    const out = result.outputFiles.find((f) => f.path.endsWith('.js'));
    const mapFile = result.outputFiles.find((f) => f.path.endsWith('.map'));
    if (!out || !mapFile) throw new Error('esbuild produced no output');
    const inputs = await Promise.all(
      Object.keys(result.metafile.inputs)
        .filter((p) => p !== '<stdin>' && p !== CALL_ENTRY)
        .map(async (p): Promise<[string, string]> => {
          const abs = resolve(root, p);
          return [abs, hash(await readFile(abs))];
        }),
    );
    const entry: CacheEntry = { inputs, code: out.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'), map: JSON.parse(mapFile.text), root };
    cache.set(key, entry);
    return made(entry, file);
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } }> }).errors;
    const detail = errors?.length
      ? errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n')
      : (error as Error).message;
    throw new SourceError(`${name === undefined ? 'remoteExec()' : 'call()'}: cannot bundle ${url.href}:\n${detail}`, { cause: error });
  }
}

const CALL_ENTRY = 'tsnet-call-entry.js';

/**
 * The entry of a call(url, name): the module as a namespace, so a missing export is named with the
 * ones that exist (the message is made remotely, where the module was loaded).
 */
function callEntry(file: string, name: string): string {
  return `import * as ns from ${JSON.stringify(file)};
const name = ${JSON.stringify(name)};
export default async function (channel, args) {
  const fn = ns[name];
  if (typeof fn !== 'function') {
    const names = Object.keys(ns).filter((k) => typeof ns[k] === 'function');
    throw new TypeError(
      \`call(): the module ${file.replace(/[`\\$]/g, '\\$&')} has no function export named \${JSON.stringify(name)}\` +
        (names.length ? \`; its function exports are: \${names.join(', ')}\` : '; it exports no function') +
        (name === 'default' ? '' : "; pass 'default' for the default export"),
    );
  }
  await channel.send(await fn(...args));
}
`;
}

function made(entry: CacheEntry, file: string): BundledModule {
  const filename = `tsnet-module-${++moduleCounter}-${basename(file).replace(/\.[^.]*$/, '')}.js`;
  return { code: entry.code, sourceMap: new ModuleSourceMap(filename, entry.map, entry.root) };
}

async function unchanged(inputs: CacheEntry['inputs']): Promise<boolean> {
  try {
    for (const [path, h] of inputs) if (hash(await readFile(path)) !== h) return false;
    return true;
  } catch {
    return false;
  }
}

async function loadWith(url: URL, load: EsbuildLoader): Promise<typeof import('esbuild')> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    throw new SourceError(
      missing
        ? `remoteExec(${url.href}): shipping a module needs esbuild, an optional peer dependency of @tsnet/core that is not installed: npm install esbuild ` +
            '(string and function sources need nothing more)'
        : `remoteExec(${url.href}): esbuild is installed but does not load (${(error as Error).message}); reinstall it: npm install esbuild`,
      { cause: error },
    );
  }
}

/** The package a path inside node_modules belongs to (`@scope/name` or `name`). */
function packageOf(path: string): string | undefined {
  const m = /.*node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(path);
  return m?.[1]?.replace(/\\/g, '/');
}

function refuseNativeAddons(): import('esbuild').Plugin {
  const refuse = (what: string, importer: string) => {
    const pkg = packageOf(importer) ?? what;
    return {
      errors: [
        {
          text:
            `package ${pkg} needs a native addon (${what}), which cannot be bundled for a remote runtime: ` +
            `install ${pkg} on the remote side and use bundle: 'local' (it stays a require() resolved there)`,
        },
      ],
    };
  };
  return {
    name: 'tsnet-refuse-native-addons',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => refuse(args.path, args.importer));
      build.onResolve({ filter: NATIVE_LOADERS }, (args) => refuse(args.path, args.importer));
    },
  };
}
