// The `prepare` step of a clone (`npm ci`, `npm ci --omit=dev`, `npm pack`): compiles the
// package npm runs it for (the daemon, or the smtp-load workspace) with its
// tsconfig.build.json into dist/. Never runs for a tarball install: the tarball carries
// dist/, and npm runs `prepare` only for a local folder, a git dependency or a pack.
//
// With dev dependencies the project's own tsc does it. Without them (`npm ci --omit=dev`)
// the exact TypeScript version of package-lock.json runs once through `npm exec`, from
// npm's cache, so a production node_modules never holds a compiler it does not run.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

// The lock file is the repository's; the package compiled is the one npm runs us in.
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const packageDir = process.cwd();
const TSC_ARGS = ['-p', 'tsconfig.build.json'];

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

/** The TypeScript version the lock file pins (dev dependency), so both ways compile alike. */
function lockedTypescript() {
  const lockFile = path.join(repoRoot, 'package-lock.json');
  if (!existsSync(lockFile)) return undefined;
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  return lock.packages?.['node_modules/typescript']?.version;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: packageDir, stdio: 'inherit' });
  if (result.error) {
    say(`${command}: ${result.error.message}`);
    return 1;
  }
  return result.status ?? 1;
}

function prepare() {
  const tsc = localTsc();
  if (tsc !== undefined) return run(process.execPath, [tsc, ...TSC_ARGS]);
  const version = lockedTypescript();
  if (version === undefined) {
    say('no TypeScript installed and no package-lock.json to pin one: run `npm ci` (with dev dependencies)');
    return 1;
  }
  say(`no dev dependencies: compiling with typescript@${version} from npm's cache (npm exec)`);
  // npm_execpath is the npm that runs this script; by hand, the npm on PATH.
  const npmCli = process.env['npm_execpath'];
  const [command, prefix] = npmCli ? [process.execPath, [npmCli]] : ['npm', []];
  return run(command, [...prefix, 'exec', '--yes', `--package=typescript@${version}`, '--', 'tsc', ...TSC_ARGS]);
}

process.exitCode = prepare();
