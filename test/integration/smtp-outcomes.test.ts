// One test per row of the outcome table, over real SMTP into real programs.
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { scratchDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

const program = (name: string, args = '') => `"${fixture('programs', name)} ${args}"`;

let daemon: TestDaemon;

/**
 * The load refuses a missing program, one without an execute bit and an output directory
 * that does not exist (program-access.ts): these are made so after the load, as when a
 * package is removed or a directory cleaned up under a running daemon.
 */
async function breakAfterLoad(dir: string): Promise<void> {
  await unlink(path.join(dir, 'gone.sh'));
  await chmod(path.join(dir, 'noexec.sh'), 0o644);
  await rmdir(path.join(dir, 'out-dir'));
}

before(async () => {
  const dir = await scratchDir();
  await copyFile(fixture('programs', 'exit-with.sh'), path.join(dir, 'gone.sh'));
  await copyFile(fixture('programs', 'exit-with.sh'), path.join(dir, 'noexec.sh'));
  await chmod(path.join(dir, 'gone.sh'), 0o755);
  await chmod(path.join(dir, 'noexec.sh'), 0o755);
  await mkdir(path.join(dir, 'out-dir'));
  daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${program('cat-to-file.sh', '{{dir}}/${queue_id}.eml')} domain = ( "copy.test" ) }
    pipe_transport "crlf" { allow_root = true program_name = ${program('cat-to-file.sh', '{{dir}}/${queue_id}.eml')} domain = ( "crlf.test" ) eol = "crlf" received_header = false }
    pipe_transport "exit7" { allow_root = true program_name = ${program('exit-with.sh', '7')} domain = ( "exit7.test" ) }
    pipe_transport "mapped" {
      allow_root = true
      program_name = ${program('exit-with.sh', '${local}')}
      domain = ( "mapped.test" )
      code = [ "0" = "250 ok" 100 = "550 command failed" 111 = "450 try again later" ]
    }
    pipe_transport "signal" { allow_root = true program_name = ${program('kill-self.sh', 'KILL')} domain = ( "signal.test" ) }
    pipe_transport "slow" { allow_root = true program_name = ${program('sleep.sh', '30')} domain = ( "slow.test" ) timeout = 1 }
    pipe_transport "missing" { allow_root = true program_name = "{{dir}}/gone.sh" domain = ( "missing.test" ) }
    pipe_transport "noexec" { allow_root = true program_name = "{{dir}}/noexec.sh" domain = ( "noexec.test" ) }
    pipe_transport "deaf" { allow_root = true program_name = ${program('ignore-stdin-exit.sh', '${local}')} domain = ( "deaf.test" ) }
    pipe_transport "unwritable" { allow_root = true program_name = ${program('exit-with.sh', '0')} domain = ( "unwritable.test" ) output_file = "{{dir}}/out-dir/out" }
  `, dir);
  await breakAfterLoad(dir);
});
after(() => daemon.stop());

async function deliver(to: string, body = 'Subject: test\r\n\r\nhello\r\n') {
  const client = await openSession(daemon.port);
  try {
    return await client.sendMail('sender@origin.test', [to], body);
  } finally {
    await client.quit();
  }
}

const deliveryLog = (queueId: string) => daemon.logs.find((l) => l.queueId === queueId);

test('exit 0: 250 with the queue ID, message byte-exact with LF endings and a Received line', async () => {
  const reply = await deliver('someone@copy.test', 'Subject: hi\r\n\r\nline one\r\n.dot line\r\nlast');
  assert.equal(reply.code, 250);
  const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1];
  assert.ok(queueId, reply.line);
  const stored = await readFile(path.join(daemon.dir, `${queueId}.eml`), 'latin1');
  const [received, ...rest] = stored.split('\n\tfor <someone@copy.test>; ');
  assert.match(received as string, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\n\tby \S+ \(smtpipe\) with ESMTP id [0-9A-Z]+$/);
  assert.equal(rest.join('').replace(/^[^\n]*\n/, ''), 'Subject: hi\n\nline one\n.dot line\nlast\n');
  assert.equal(deliveryLog(queueId)?.exitCode, 0);
});

test('eol crlf keeps the wire form', async () => {
  const reply = await deliver('x@crlf.test', 'A: b\r\n\r\nbody\r\n');
  assert.equal(reply.code, 250);
  const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1] as string;
  assert.equal(await readFile(path.join(daemon.dir, `${queueId}.eml`), 'latin1'), 'A: b\r\n\r\nbody\r\n');
});

test('exit N unmapped: 504 5.5.0 naming the status', async () => {
  assert.equal((await deliver('x@exit7.test')).line, '504 5.5.0 pipe transport gave exit status 7');
});

for (const [status, line] of [
  ['0', '250 ok'],
  ['100', '550 command failed'],
  ['111', '450 try again later'],
  ['3', '504 5.5.0 pipe transport gave exit status 3'],
]) {
  test(`code map: exit ${status} -> "${line}" verbatim`, async () => {
    assert.equal((await deliver(`${status}@mapped.test`)).line, line);
  });
}

test('killed by a signal: 451 4.3.0 naming it', async () => {
  assert.equal((await deliver('x@signal.test')).line, '451 4.3.0 pipe transport program killed by signal SIGKILL');
});

test('timed out: 451 4.3.0 naming the timeout, logged as timed out', async () => {
  const reply = await deliver('x@slow.test');
  assert.equal(reply.line, '451 4.3.0 pipe transport program timed out after 1 s');
  const log = daemon.logs.find((l) => l.transport === 'slow');
  assert.equal(log?.timedOut, true);
  assert.equal(log?.signal, 'SIGTERM');
});

for (const [domain, errno] of [
  ['missing.test', 'ENOENT'],
  ['noexec.test', 'EACCES'],
]) {
  test(`program cannot start (${errno}): 451 4.3.0, logged as a configuration fault`, async () => {
    assert.equal((await deliver(`x@${domain}`)).line, '451 4.3.0 pipe transport program could not be started');
    const log = daemon.logs.find((l) => l.transport === domain?.split('.')[0]);
    assert.equal(log?.level, 50);
    assert.equal(log?.msg, 'delivery failed: configuration fault');
  });
}

test('output_file cannot be opened: 451 4.3.0, program not run', async () => {
  assert.equal((await deliver('x@unwritable.test')).line, '451 4.3.0 pipe transport output file unavailable');
  assert.equal(daemon.logs.find((l) => l.transport === 'unwritable')?.programPid, null);
});

test('program ignores stdin (EPIPE): the exit status decides', async () => {
  const big = `Subject: big\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(3000);
  assert.equal((await deliver('0@deaf.test', big)).code, 250);
  assert.equal((await deliver('9@deaf.test', big)).line, '504 5.5.0 pipe transport gave exit status 9');
});

test('the daemon keeps serving after every failure above', async () => {
  assert.equal((await deliver('again@copy.test')).code, 250);
});
