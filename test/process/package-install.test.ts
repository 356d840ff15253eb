// The package as an operator installs it (docs/install.md): `npm pack`, `npm install -g` of the
// tarball into a temporary prefix, then the installed `smtpipe` checks its bundled config and
// delivers one message. A file missing from package.json's `files` fails here (issue 16).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { eventually, scratchDir } from '../helpers/daemon.js';
import { fixture, repoRoot } from '../helpers/paths.js';

const run = promisify(execFile);
const ADDONS = ['smtpipe_spawn.node', 'smtpipe_line_endings.node'];

/**
 * Our environment without what `npm test` exports to its scripts (npm_package_*,
 * npm_config_prefix and the like), which would steer the nested npm; the cache and the
 * headers' location stay. node's own directory goes first on PATH for the bin's shebang.
 */
function installEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_nodedir', 'npm_config_registry']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') || keep.has(key)));
  return { ...env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
}

test('npm pack, npm install -g into a clean prefix: the installed smtpipe checks its config and delivers a message', { timeout: 180_000 }, async (t) => {
  const dir = await scratchDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = installEnv();
  const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

  // --ignore-scripts: dist/ is built (npm test builds first); prepare would compile again
  // into the dist/ other tests are reading.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repoRoot, env });
  const [entry] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
  assert.ok(entry !== undefined);
  const tarball = path.join(dir, entry.filename);

  const prefix = path.join(dir, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: dir, env });
  const bin = path.join(prefix, 'bin', 'smtpipe');
  const installed = path.join(prefix, 'lib', 'node_modules', 'smtpipe');

  const shown = await run(bin, ['--version'], { env });
  assert.equal(shown.stdout.trim(), `smtpipe ${version}`);
  const checked = await run(bin, ['--check', '-c', path.join(installed, 'config', 'smtpipe.conf')], { env });
  assert.match(checked.stdout + checked.stderr, /: ok \(/);

  // The install script built what the checkout's `npm ci` built (both, where a compiler is).
  const builtHere = ADDONS.filter((addon) => existsSync(path.join(repoRoot, 'build', 'Release', addon)));
  for (const addon of builtHere) assert.ok(existsSync(path.join(installed, 'build', 'Release', addon)), `${addon} not built by the install`);

  const conf = path.join(dir, 'smtpipe.conf');
  await writeFile(
    conf,
    `ESMTP_Listener { Listen "127.0.0.1:0" { } }
pipe_transport "copy" {
  allow_root = true
  program_name = "${fixture('programs', 'cat-to-file.sh')} ${dir}/delivered.eml"
  domain = ( "copy.test" )
}
`,
  );
  const child = spawn(bin, ['-c', conf], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const logged = JSON.parse(line) as Record<string, unknown>;
      if (logged.msg === 'listening') resolve(logged);
    });
    child.once('exit', (code) => reject(new Error(`installed smtpipe exited with ${code}: ${stderr}`)));
  });
  if (builtHere.length === ADDONS.length) {
    assert.equal(listening.spawner, 'native');
    assert.equal(listening.lineEndings, 'native');
  }
  const port = Number(String((listening.listeners as string[])[0]).split(':').pop());

  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const info = await transport.sendMail({ from: 'op@example.org', to: 'someone@copy.test', subject: 'installed', text: 'Through the installed package.' });
  assert.match(info.response, /^250 /);
  await eventually(() => existsSync(path.join(dir, 'delivered.eml')));
  assert.match(await readFile(path.join(dir, 'delivered.eml'), 'utf8'), /Subject: installed[\s\S]*Through the installed package\./);

  child.kill('SIGTERM');
  assert.deepEqual(await exited, [0, null]);
});
