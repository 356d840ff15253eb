// Auth_Password_File is re-read on SIGHUP (the built CLI): a user added to the file can
// authenticate after the reload and one removed cannot; a broken file is refused at its
// file:line and the users already loaded keep working.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, startCli } from '../helpers/cli.js';
import { eventually, scratchDir } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

/** `smtpipe passwd USER` of the built CLI, the password on stdin. */
function passwd(user: string, password: string): string {
  const run = spawnSync(process.execPath, [CLI, 'passwd', user], { input: `${password}\n`, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

const plain = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`).toString('base64');

test('SIGHUP re-reads Auth_Password_File: added users may log in, removed ones not; a broken file keeps the old users', async () => {
  const dir = await scratchDir();
  const passwords = path.join(dir, 'passwords');
  await writeFile(passwords, passwd('alice', 'first secret'));
  const cli = await startCli(
    `ESMTP_Listener { Listen "127.0.0.1:0" { SMTP_Extensions = ( "AUTH" ) Auth_Allow_Plaintext = true Auth_Password_File = "${passwords}" } }
     pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "example.com" ) }`,
    { dir },
  );
  const reloads = (msg: string) => cli.logs.filter((l) => l.msg === msg).length;
  /** One AUTH PLAIN in a fresh session: its reply code. */
  const login = async (user: string, password: string): Promise<number> => {
    const client = await openSession(cli.port);
    const reply = await client.command(`AUTH PLAIN ${plain(user, password)}`);
    client.destroy();
    return reply.code;
  };
  try {
    assert.equal(await login('alice', 'first secret'), 235);
    assert.equal(await login('bob', 'second secret'), 535);

    await writeFile(passwords, passwd('bob', 'second secret'));
    const before = reloads('configuration reloaded');
    cli.child.kill('SIGHUP');
    await eventually(() => reloads('configuration reloaded') > before);
    assert.equal(await login('bob', 'second secret'), 235, 'added: may log in');
    assert.equal(await login('alice', 'first secret'), 535, 'removed: refused');

    await writeFile(passwords, 'bob:not a hash\n');
    const failed = reloads('reload failed: configuration invalid, still serving the previous one');
    cli.child.kill('SIGHUP');
    await eventually(() => reloads('reload failed: configuration invalid, still serving the previous one') > failed);
    assert.ok(
      cli.logs.some((l) => l.msg === 'config error' && String(l.diagnostic).includes(`${passwords}:1:`)),
      'the broken line is named at file:line',
    );
    assert.equal(await login('bob', 'second secret'), 235, 'the users loaded before still work');
  } finally {
    cli.child.kill('SIGTERM');
    await once(cli.child, 'exit');
  }
});
