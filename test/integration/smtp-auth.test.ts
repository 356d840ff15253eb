// SMTP AUTH (RFC 4954) through real clients: python3 smtplib login() over STARTTLS (PLAIN
// and LOGIN), raw AUTH exchanges on a plaintext-allowed Listen; AUTH hidden before TLS,
// Require_Auth, 535 with a growing delay, the failure cap, timing of unknown users,
// hostile input; the user in the log line, Received:, ${auth_user} and AUTH_USER. The
// password file is written by the built CLI's `smtpipe passwd` (its round trip).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CLI } from '../helpers/cli.js';
import { scratchDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { queueIdOf, runPython } from '../helpers/python.js';
import { openSession, type SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const ports = { tls: 0, plain: 0 };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const plainToken = (user: string, password: string) => b64(`\0${user}\0${password}`);

/** `smtpipe passwd USER` of the built CLI, the password on stdin. */
function passwd(user: string, password: string): string {
  const run = spawnSync(process.execPath, [CLI, 'passwd', user], { input: `${password}\n`, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

before(async () => {
  const dir = await scratchDir();
  await copyFile(fixture('tls', 'mx-a.crt'), path.join(dir, 'mx.crt'));
  await copyFile(fixture('tls', 'mx-a.key'), path.join(dir, 'mx.key'));
  // The round trip: lines printed by `smtpipe passwd`, taken as they are by the daemon.
  await writeFile(path.join(dir, 'passwords'), `# test users\n${passwd('alice', 'correct horse')}\n${passwd('bob@example.test', 'pa:ss word')}`);
  const args = `"${fixture('programs', 'print-args.sh')} {{dir}}/args-\${queue_id} \${auth_user} \${sender}"`;
  const env = `"${fixture('programs', 'print-env.sh')} {{dir}}/env-\${queue_id}"`;
  const copy = `"${fixture('programs', 'cat-to-file.sh')} {{dir}}/copy-\${queue_id}"`;
  daemon = await startDaemon(
    `ESMTP_Listener {
      Auth_Password_File = "passwords"
      Listen "127.0.0.1:0" {
        SMTP_Extensions = ( "STARTTLS" "AUTH" )
        TLS_Certificate = "mx.crt"
        TLS_Key = "mx.key"
        Require_Auth = true
      }
      Listen "127.0.0.1:0" { SMTP_Extensions = ( "AUTH" ) Auth_Allow_Plaintext = true }
    }
    pipe_transport "args" { allow_root = true program_name = ${args} domain = ( "args.test" ) }
    pipe_transport "env" { allow_root = true program_name = ${env} domain = ( "env.test" ) }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }`,
    dir,
  );
  const [tls, plain] = daemon.daemon.listeners;
  ports.tls = tls?.address?.port ?? 0;
  ports.plain = plain?.address?.port ?? 0;
});
after(() => daemon.stop());

const python = spawnSync('python3', ['-c', 'import smtplib, ssl'], { stdio: 'ignore' }).status === 0;

/** python3 smtplib over STARTTLS (CA: mx-a.crt): logs in with `login` and sends one message; prints the DATA reply. */
async function pythonSend(login: string, rcpt: string): Promise<string> {
  const script = [
    'import smtplib, ssl, sys',
    'ctx = ssl.create_default_context(cafile=sys.argv[2])',
    's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
    's.ehlo()',
    'assert not s.has_extn("auth"), "AUTH offered before TLS"',
    's.starttls(context=ctx)',
    's.ehlo()',
    'assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"], s.esmtp_features',
    login,
    `s.mail("sender@origin.test")`,
    `s.rcpt("${rcpt}")`,
    'code, text = s.data(b"Subject: hi\\r\\n\\r\\nbody\\r\\n")',
    'assert code == 250, (code, text)',
    'print(text.decode())',
    's.quit()',
  ].join('\n');
  return runPython(script, ports.tls, fixture('tls', 'mx-a.crt'));
}


test('before TLS: EHLO does not offer AUTH, AUTH gets 538 5.7.11, MAIL gets 530 5.7.0 (Require_Auth)', async () => {
  const client = await openSession(ports.tls);
  const ehlo = await client.command('EHLO client.test');
  assert.ok(!/^AUTH/m.test(ehlo.text), ehlo.text);
  assert.ok(/^STARTTLS$/m.test(ehlo.text), ehlo.text);
  assert.equal((await client.command(`AUTH PLAIN ${plainToken('alice', 'correct horse')}`)).line, '538 5.7.11 Encryption required for requested authentication mechanism');
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).line, '530 5.7.0 Authentication required');
  await client.quit();
});


test('python smtplib, STARTTLS + AUTH PLAIN: delivered; AUTH_USER and ${auth_user} reach the program, ESMTPSA', { skip: !python && 'no python3' }, async () => {
  const logged = daemon.nextLog((l) => l.msg !== undefined && typeof l.queueId === 'string' && l.authUser === 'alice');
  const queueId = queueIdOf(await pythonSend('s.login("alice", "correct horse")', 'x@env.test'));
  const env = (await readFile(path.join(daemon.dir, `env-${queueId}`), 'utf8')).split('\0');
  assert.ok(env.includes('AUTH_USER=alice'), env.join(' '));
  const line = await logged;
  assert.equal(line.queueId, queueId);
});

test('python smtplib, STARTTLS + AUTH LOGIN: the Received line names the authenticated sender as Postfix does', { skip: !python && 'no python3' }, async () => {
  const login = ['s.user, s.password = "bob@example.test", "pa:ss word"', 'code, text = s.auth("LOGIN", s.auth_login, initial_response_ok=False)', 'assert code == 235, (code, text)'].join('\n');
  const queueId = queueIdOf(await pythonSend(login, 'x@copy.test'));
  const copy = await readFile(path.join(daemon.dir, `copy-${queueId}`), 'utf8');
  assert.match(copy, /^Received: from \S+ \(\[127\.0\.0\.1\]\)\r?\n\t\(using TLS[^\n]*\n\t\(Authenticated sender: bob@example\.test\)\r?\n\tby [^\n]* with ESMTPSA id /m);
});

test('raw AUTH PLAIN and LOGIN where Auth_Allow_Plaintext: 235, and ${auth_user} in argv', async () => {
  const client = await openSession(ports.plain);
  const ehlo = await client.command('EHLO client.test');
  assert.ok(/^AUTH PLAIN LOGIN$/m.test(ehlo.text), ehlo.text);
  assert.equal((await client.command(`AUTH PLAIN ${plainToken('alice', 'correct horse')}`)).line, '235 Authentication successful');
  assert.equal((await client.command(`AUTH PLAIN ${plainToken('alice', 'correct horse')}`)).code, 503);
  const reply = await client.sendMail('s@origin.test', ['r@args.test'], 'Subject: x\r\n\r\nx');
  assert.equal(reply.code, 250, reply.line);
  const args = await readFile(path.join(daemon.dir, `args-${queueIdOf(reply.line)}`), 'utf8');
  assert.deepEqual(args.split('\n'), ['alice', 's@origin.test', '']);
  await client.quit();

  const login = await openSession(ports.plain);
  assert.equal((await login.command('AUTH LOGIN')).line, '334 VXNlcm5hbWU6');
  assert.equal((await login.command(b64('bob@example.test'))).line, '334 UGFzc3dvcmQ6');
  assert.equal((await login.command(b64('pa:ss word'))).line, '235 Authentication successful');
  await login.quit();
});

test('without AUTH, a Listen without Require_Auth takes mail; ${auth_user} is empty', async () => {
  const client = await openSession(ports.plain);
  const reply = await client.sendMail('s@origin.test', ['r@args.test'], 'Subject: x\r\n\r\nx');
  assert.equal(reply.code, 250, reply.line);
  const args = await readFile(path.join(daemon.dir, `args-${queueIdOf(reply.line)}`), 'utf8');
  assert.deepEqual(args.split('\n'), ['', 's@origin.test', '']);
  await client.quit();
});

/** Sends `command`, resolves with the reply and how long it took. */
async function timed(client: SmtpClient, command: string) {
  const start = performance.now();
  const reply = await client.command(command);
  return { reply, ms: performance.now() - start };
}

test('wrong password and unknown user: 535 5.7.8 after about 1 s each, within 300 ms of each other', async () => {
  // The fastest of three tries each: a loaded machine (CI runs test files in parallel) only
  // ever adds time, so the minimum is what the daemon itself spent.
  const tries = async (user: string, password: string) => {
    const results = [];
    for (let i = 0; i < 3; i += 1) {
      const client = await openSession(ports.plain);
      results.push(await timed(client, `AUTH PLAIN ${plainToken(user, password)}`));
      await client.quit();
    }
    for (const { reply, ms } of results) {
      assert.equal(reply.line, '535 5.7.8 Authentication credentials invalid');
      assert.ok(ms >= 950, `${ms} ms`);
    }
    return Math.min(...results.map((r) => r.ms));
  };
  const wrong = await tries('alice', 'wrong');
  const unknown = await tries('mallory', 'correct horse');
  assert.ok(wrong < 2000 && unknown < 2000, `wrong ${wrong} ms, unknown ${unknown} ms`);
  assert.ok(Math.abs(wrong - unknown) < 300, `wrong ${wrong} ms, unknown ${unknown} ms`);
  // The failure is logged, with whether the user exists (never the password).
  assert.ok(daemon.logs.some((l) => l.msg === 'authentication failed' && l.user === 'mallory' && l.known === false));
});

test('failures in one session: 1 s, 2 s, then 421 4.7.0 after 4 s and the session closes', async () => {
  const client = await openSession(ports.plain);
  const first = await timed(client, `AUTH PLAIN ${plainToken('alice', 'one')}`);
  const second = await timed(client, `AUTH LOGIN ${b64('alice')}`).then(() => timed(client, b64('two')));
  const third = await timed(client, `AUTH PLAIN ${plainToken('alice', 'three')}`);
  assert.equal(first.reply.code, 535);
  assert.equal(second.reply.code, 535);
  assert.equal(third.reply.line, '421 4.7.0 too many authentication failures, closing');
  assert.ok(first.ms >= 950 && first.ms < 1900, `${first.ms}`);
  assert.ok(second.ms >= 1950 && second.ms < 2900, `${second.ms}`);
  assert.ok(third.ms >= 3950 && third.ms < 4900, `${third.ms}`);
  await client.closed;
});

test('hostile input: a 10 KB AUTH line, bad base64, NUL bytes: refused, the session goes on', async () => {
  const client = await openSession(ports.plain);
  const huge = await client.command(`AUTH PLAIN ${'A'.repeat(10 * 1024)}`);
  assert.equal(huge.code, 501, huge.line);
  assert.equal((await client.command('AUTH PLAIN !!!not*base64!!!')).code, 501);
  // An extra NUL: not authzid NUL authcid NUL passwd (RFC 4616).
  assert.equal((await client.command(`AUTH PLAIN ${b64('\0alice\0correct\0horse')}`)).code, 501);
  // A NUL in the LOGIN user name: refused before any check.
  assert.equal((await client.command(`AUTH LOGIN ${b64('ali\0ce')}`)).code, 501);
  // A NUL in a LOGIN password (PLAIN cannot carry one) is a wrong password.
  assert.equal((await client.command(`AUTH LOGIN ${b64('alice')}`)).code, 334);
  assert.equal((await client.command(b64('correct\0horse'))).code, 535);
  // An authzid other than the user asks to act as someone else: refused.
  assert.equal((await client.command(`AUTH PLAIN ${b64('bob@example.test\0alice\0correct horse')}`)).code, 535);
  assert.equal((await client.command('NOOP')).code, 250);
  await client.quit();
});
