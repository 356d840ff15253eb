// kill -9 in the middle of a spooled DATA leaves nothing behind: the built CLI spools a
// message as it arrives (Spool_Threshold = 0), the test sees the daemon hold a nameless
// spool file (/proc/PID/fd: "... (deleted)" in Spool_Directory), SIGKILLs it, and the
// directory is as empty as it always was: no name was ever made, so none can remain.
import assert from 'node:assert/strict';
import { mkdir, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { eventually, scratchDir } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { awaitDeath } from '../helpers/processes.js';
import { openSession } from '../helpers/smtp-client.js';

/** The daemon's descriptors that point into `directory`, as /proc shows their targets. */
async function openIn(pid: number, directory: string): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(`${directory}/`));
}

test('kill -9 mid-DATA: the spool file it was writing leaves no trace in Spool_Directory', async () => {
  const dir = await scratchDir();
  const spool = path.join(dir, 'spool');
  await mkdir(spool);
  const cli = await startCli(
    `Spool_Threshold = 0
     Spool_Directory = "${spool}"
     ESMTP_Listener { Listen "127.0.0.1:0" { } }
     pipe_transport "copy" { allow_root = true program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/out" domain = ( "copy.test" ) }`,
    { dir },
  );
  const client = await openSession(cli.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await client.command('RCPT TO:<b@copy.test>')).code, 250);
  assert.equal((await client.command('DATA')).code, 354);
  client.write(`Subject: half a message\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(200));
  // The daemon holds the message's spool file now, nameless; the message is not finished.
  await eventually(async () => (await openIn(cli.pid, spool)).length === 1);
  const [target] = await openIn(cli.pid, spool);
  assert.match(target ?? '', / \(deleted\)$/);
  assert.deepEqual(await readdir(spool), []);
  process.kill(cli.pid, 'SIGKILL');
  assert.ok(await awaitDeath(cli.pid), 'the daemon is gone');
  client.destroy();
  assert.deepEqual(await readdir(spool), [], 'nothing left after kill -9');
  assert.deepEqual((await readdir(dir)).filter((name) => name !== 'smtpipe.conf' && name !== 'spool'), [], 'and no program ran');
});
