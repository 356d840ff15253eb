// The `prepare` step of a clone (`npm ci`, `npm ci --omit=dev`, `npm pack`): compiles the
// package npm runs it for (the daemon, or the smtp-load workspace) with its
// tsconfig.build.json into dist/. Never runs for a tarball install: the tarball carries
// dist/, and npm runs `prepare` only for a local folder, a git dependency or a pack.
//
// With dev dependencies the project's own tsc does it. Without them (`npm ci --omit=dev`)
// the exact typescript and @types/node of package-lock.json are installed into a temporary
// prefix, used once and removed, so a production node_modules never holds a compiler it
// does not run. (`npm exec --package=typescript` alone would not do: tsc also needs the
// Node types, and finds them only under node_modules/@types or --typeRoots.)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

// The lock file is the repository's; the package compiled is the one npm runs us in.
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const packageDir = process.cwd();
const TSC_ARGS = ['-p', 'tsconfig.build.json'];
const COMPILER = ['typescript', '@types/node'];

function say(message) {
  process.stderr.write(`smtpipe prepare: ${message}\n`);
}

/** node_modules/typescript's tsc when dev dependencies are installed, else undefined. */
function localTsc() {
  try {
    return createRequire(path.join(packageDir, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

/** The versions package-lock.json pins for the compiler and Node's types (dev dependencies). */
function lockedVersions() {
  const lockFile = path.join(repoRoot, 'package-lock.json');
  if (!existsSync(lockFile)) return undefined;
  const { packages } = JSON.parse(readFileSync(lockFile, 'utf8'));
  const pinned = COMPILER.map((name) => packages?.[`node_modules/${name}`]?.version);
  return pinned.every((v) => typeof v === 'string') ? COMPILER.map((name, i) => `${name}@${pinned[i]}`) : undefined;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: packageDir, stdio: 'inherit' });
  if (result.error) {
    say(`${command}: ${result.error.message}`);
    return 1;
  }
  return result.status ?? 1;
}

/** Without dev dependencies: the pinned compiler in a temporary prefix, removed after. */
function compileWithoutDevDependencies() {
  const specs = lockedVersions();
  if (specs === undefined) {
    say('no TypeScript installed and no package-lock.json to pin one: run `npm ci` (with dev dependencies)');
    return 1;
  }
  say(`no dev dependencies: compiling with ${specs.join(' ')} from a temporary prefix`);
  const prefix = mkdtempSync(path.join(tmpdir(), 'smtpipe-tsc-'));
  try {
    // npm_execpath is the npm that runs this script; by hand, the npm on PATH. --include=dev
    // undoes the --omit=dev this script inherits (npm_config_omit).
    const npmCli = process.env['npm_execpath'];
    const [command, npmArgs] = npmCli ? [process.execPath, [npmCli]] : ['npm', []];
    const installed = run(command, [...npmArgs, 'install', '--prefix', prefix, '--no-save', '--no-package-lock',
      '--ignore-scripts', '--no-audit', '--no-fund', '--include=dev', '--loglevel=warn', ...specs]);
    if (installed !== 0) return installed;
    const modules = path.join(prefix, 'node_modules');
    return run(process.execPath, [path.join(modules, 'typescript', 'bin', 'tsc'), ...TSC_ARGS, '--typeRoots', path.join(modules, '@types')]);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

const tsc = localTsc();
process.exitCode = tsc === undefined ? compileWithoutDevDependencies() : run(process.execPath, [tsc, ...TSC_ARGS]);
