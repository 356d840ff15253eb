// The install step (`npm ci` runs it before prepare): builds native/spawn.c and
// native/line-endings.c with node-gyp, offline, against the Node headers installed on this
// machine. It never fails the install: without the addons smtpipe falls back to
// child_process at run time (Spawner = auto, said in its start-up log) and to the
// JavaScript line-ending scans.
//
// Headers: npm_config_nodedir when set (npm passes it from .npmrc or --nodedir), else the
// first of <prefix of this node>/include/node, /usr, /usr/local that holds node_api.h.
// Without one we skip: node-gyp would try to download headers from the network.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function say(message) {
  process.stderr.write(`smtpipe native spawner: ${message}\n`);
}

function findNodeDir() {
  const configured = process.env['npm_config_nodedir'];
  if (configured) return configured;
  const candidates = [path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
  return candidates.find((dir) => existsSync(path.join(dir, 'include', 'node', 'node_api.h')));
}

/** npm hands its bundled node-gyp to scripts; by hand, look where npm keeps it. */
function findNodeGyp() {
  const candidates = [
    process.env['npm_config_node_gyp'],
    path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((file) => file !== undefined && file !== '' && existsSync(file));
}

function build() {
  if (process.platform !== 'linux') return 'skipped: posix_spawn + pidfd is Linux only';
  const nodeDir = findNodeDir();
  if (nodeDir === undefined) return 'skipped: no Node headers found (set npm_config_nodedir)';
  const nodeGyp = findNodeGyp();
  if (nodeGyp === undefined) return 'skipped: node-gyp not found (npm bundles it)';
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--loglevel=warn'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (result.error) return `not built: ${result.error.message}`;
  if (result.status !== 0) return `not built: node-gyp exited with ${result.status ?? result.signal}`;
  return null;
}

const problem = build();
if (problem === null) {
  say('built (build/Release/smtpipe_spawn.node, smtpipe_line_endings.node)');
} else {
  say(`${problem}; smtpipe will use child_process (Spawner = auto)`);
}
process.exitCode = 0;
