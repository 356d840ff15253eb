import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { runCheck } from '../helpers/cli.js';
import { scratchDir } from '../helpers/daemon.js';

// An unprivileged smtpipe: transports without user keep its ids, nothing is looked up.
const host = { hostname: 'mx.test', parallelism: 8, uid: 1000, gid: 1000, tmpdir: '/tmp' };
const LISTEN = 'ESMTP_Listener { Listen "127.0.0.1:0" { } }\n';
const transport = (name: string, domain: string) => `pipe_transport "${name}" { program_name = /bin/cat domain = ${domain} }\n`;

/** Writes each file (relative name -> text) under a new scratch directory. */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = await scratchDir();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

const LEFTOVERS = [
  '#10-lists.conf#', '10-lists.conf.bak', '10-lists.conf.dpkg-dist', '10-lists.conf.dpkg-old',
  '10-lists.conf.orig', '10-lists.conf.rej', '10-lists.conf.rpmnew', '10-lists.conf.rpmsave',
  '10-lists.conf.swo', '10-lists.conf.swp', '10-lists.conf.ucf-old', '10-lists.conf~',
];

test('include: a directory skips editor backups and package leftovers with a warning each; dotfiles silently', async () => {
  // Each leftover would be a syntax error, or (the ~ copy) revive a deleted transport.
  const files: Record<string, string> = {
    'main.conf': `${LISTEN}include "conf.d"\n`,
    'conf.d/10-lists.conf': transport('lists', 'lists.example'),
    'conf.d/.10-lists.conf.swp': 'binary junk {',
  };
  for (const name of LEFTOVERS) files[`conf.d/${name}`] = name.endsWith('~') ? transport('old', 'old.example') : 'not a config {';
  const dir = await tree(files);
  const result = await loadConfig(path.join(dir, 'main.conf'), host);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  assert.deepEqual(result.config.transports.map((t) => t.name), ['lists']);
  const main = path.join(dir, 'main.conf');
  assert.deepEqual(
    result.warnings.map((w) => `${w.file}:${w.line}:${w.column} ${w.code} ${w.message}`),
    [...LEFTOVERS].sort().map(
      (name) =>
        `${main}:2:1 WARN_CONFIG_INCLUDE_SKIPPED include "conf.d": skipped ${path.join(dir, 'conf.d', name)} (an editor backup or package leftover; rename it to have it read)`,
    ),
  );

  const check = await runCheck(main);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stderr, /main\.conf:2:1: warning: include "conf\.d": skipped .*10-lists\.conf~ .*\[WARN_CONFIG_INCLUDE_SKIPPED\]/);
});

test('include: a diagnostic in an included file names the include that pulled it in, the whole chain', async () => {
  const dir = await tree({
    'main.conf': `# main\n${LISTEN}include "conf.d"\n`,
    'conf.d/10-a.conf': `${transport('a', 'a.example')}Shutdown_Timout = 5\ninclude "../more.conf"\n`,
    'more.conf': 'pipe_transport "b" { program_name = /bin/cat domain = b.example colour = red }\n',
  });
  const main = path.join(dir, 'main.conf');
  const a = path.join(dir, 'conf.d', '10-a.conf');
  const result = await loadConfig(main, host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => `${path.relative(dir, e.file)}:${e.line}:${e.column} ${e.message}`), [
    `conf.d/10-a.conf:2:1 unknown option "Shutdown_Timout"; did you mean Shutdown_Timeout? (included from ${main}:3:1)`,
    `more.conf:1:65 unknown option "colour" in pipe_transport "b" (included from ${a}:3:1 via ${main}:3:1)`,
  ]);
  // A syntax error (found before the schema runs) gets its trail too.
  const broken = await tree({ 'main.conf': `${LISTEN}${transport('t', 't.example')}include "x.conf"\n`, 'x.conf': 'Shutdown_Timeout 5\n' });
  const syntax = await loadConfig(path.join(broken, 'main.conf'), host);
  assert.ok(!syntax.ok);
  assert.match(syntax.errors[0]?.message ?? '', /\(included from .*main\.conf:3:1\)$/);

  const check = await runCheck(main);
  assert.equal(check.code, 78);
  assert.match(check.stderr, /10-a\.conf:2:1: error: unknown option "Shutdown_Timout"; did you mean Shutdown_Timeout\? \(included from .*main\.conf:3:1\) \[ERR_CONFIG_UNKNOWN_OPTION\]/);
});

test('include: a second copy of a transport, or one without a name, gives one error, not a "claimed by" cascade', async () => {
  const dir = await tree({
    'main.conf': `${LISTEN}include "conf.d"\npipe_transport { program_name = /bin/cat domain = ( c.example t.example ) }\n`,
    'conf.d/10-t.conf': transport('t', '( t.example c.example )'),
    'conf.d/20-t-copy.conf': transport('t', 't.example'),
  });
  const main = path.join(dir, 'main.conf');
  const result = await loadConfig(main, host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => `${path.relative(dir, e.file)}:${e.line}:${e.column} ${e.code} ${e.message}`), [
    'main.conf:3:1 ERR_CONFIG_MISSING_OPTION pipe_transport needs a name: pipe_transport "name" { ... }',
    `conf.d/20-t-copy.conf:1:1 ERR_CONFIG_DUPLICATE pipe_transport "t" is already defined at ${path.join(dir, 'conf.d', '10-t.conf')}:1:1 (included from ${main}:2:1)`,
  ]);
});
