// SMTPUTF8 (RFC 6531) where SMTP_Extensions lists it, through real clients: UTF-8
// senders and recipients, an IDN routed by its A-label form, programs that get UTF-8 in
// argv and env; and where it is not listed (or not asked for), 8-bit addresses refused
// as before. Invalid UTF-8 is refused everywhere.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { queueIdOf, runPython } from '../helpers/python.js';
import { openSession, SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const ports = { utf8: 0, plain: 0 };

before(async () => {
  const args = `"${fixture('programs', 'print-args.sh')} {{dir}}/args-\${queue_id} \${sender} \${recipient} \${local} \${domain}"`;
  const env = `"${fixture('programs', 'print-env.sh')} {{dir}}/env-\${queue_id}"`;
  const copy = `"${fixture('programs', 'cat-to-file.sh')} {{dir}}/copy-\${queue_id}"`;
  daemon = await startDaemon(
    `ESMTP_Listener {
      Listen "127.0.0.1:0" { SMTP_Extensions = ( "SMTPUTF8" ) }
      Listen "127.0.0.1:0" { }
    }
    pipe_transport "args" { allow_root = true program_name = ${args} domain = ( "xn--fsqu00a.xn--4rr70v" ) }
    pipe_transport "env" { allow_root = true program_name = ${env} domain = ( "xn--bcher-kva.example" ) }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }`,
  );
  const [utf8, plain] = daemon.daemon.listeners;
  ports.utf8 = utf8?.address?.port ?? 0;
  ports.plain = plain?.address?.port ?? 0;
});
after(() => daemon.stop());

const python = spawnSync('python3', ['-c', 'import smtplib'], { stdio: 'ignore' }).status === 0;


test('EHLO offers SMTPUTF8 only where SMTP_Extensions lists it', async () => {
  for (const [port, offered] of [
    [ports.utf8, true],
    [ports.plain, false],
  ] as const) {
    const client = await SmtpClient.connect(port);
    await client.reply();
    const ehlo = await client.command('EHLO client.test');
    assert.equal(ehlo.text.split('\n').includes('SMTPUTF8'), offered, ehlo.text);
    await client.quit();
  }
});

test('python smtplib, SMTPUTF8: UTF-8 sender and recipient, IDN routed by its A-label; argv in UTF-8', { skip: !python && 'no python3' }, async () => {
  // smtplib sends the envelope in UTF-8 once the server offers SMTPUTF8 and it is asked for.
  const script = [
    'import smtplib, sys',
    's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
    's.ehlo()',
    'assert s.has_extn("smtputf8")',
    'code, text = s.mail("José@bücher.example", ["SMTPUTF8"])',
    'assert code == 250, (code, text)',
    'code, text = s.rcpt("用户@例子.广告")',
    'assert code == 250, (code, text)',
    'code, text = s.data("Subject: =?utf-8?q?h=C3=A9?=\\r\\n\\r\\nhi\\r\\n".encode())',
    'assert code == 250, (code, text)',
    'print(text.decode())',
    's.quit()',
  ].join('\n');
  const queueId = queueIdOf(await runPython(script, ports.utf8));
  const args = await readFile(path.join(daemon.dir, `args-${queueId}`), 'utf8');
  // ${sender} ${recipient} ${local} ${domain}: the domain in U-labels, like the address.
  assert.deepEqual(args.split('\n'), ['José@bücher.example', '用户@例子.广告', '用户', '例子.广告', '']);
});

test('raw client, SMTPUTF8: an A-label recipient reaches the program in U-labels; env in UTF-8', async () => {
  const client = await openSession(ports.utf8);
  assert.equal((await client.command('MAIL FROM:<用户@例子.广告> SMTPUTF8 BODY=8BITMIME')).code, 250);
  assert.equal((await client.command('RCPT TO:<josé@xn--bcher-kva.example>')).code, 250);
  // The same mailbox in U-labels is a repeat: delivered to once.
  assert.equal((await client.command('RCPT TO:<JOSÉ@Bücher.example>')).code, 250);
  assert.equal((await client.command('DATA')).code, 354);
  client.write('Subject: env\r\n\r\nhi\r\n.\r\n');
  const reply = await client.reply();
  await client.quit();
  const environ = await readFile(path.join(daemon.dir, `env-${queueIdOf(reply.line)}`), 'utf8');
  const env = Object.fromEntries(environ.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  assert.equal(env['SENDER'], '用户@例子.广告');
  assert.equal(env['RECIPIENT'], 'josé@bücher.example');
  assert.equal(env['RECIPIENTS'], 'josé@bücher.example');
  assert.equal(env['LOCAL'], 'josé');
  assert.equal(env['DOMAIN'], 'bücher.example');
});

test('SMTPUTF8 transaction: the Received line says UTF8SMTP (RFC 6531 3.7.3)', async () => {
  const client = await openSession(ports.utf8);
  assert.equal((await client.command('MAIL FROM:<josé@origin.test> SMTPUTF8')).code, 250);
  assert.equal((await client.command('RCPT TO:<x@copy.test>')).code, 250);
  assert.equal((await client.command('DATA')).code, 354);
  client.write('Subject: r\r\n\r\nhi\r\n.\r\n');
  const done = await client.reply();
  await client.quit();
  const body = await readFile(path.join(daemon.dir, `copy-${queueIdOf(done.line)}`), 'utf8');
  assert.match(body, /with UTF8SMTP id /);
});

// Where SMTPUTF8 is not offered, or not asked for: what 8-bit addresses got before it.
const refusals: Array<[string, 'utf8' | 'plain', string, RegExp]> = [
  ['not offered: the parameter', 'plain', 'MAIL FROM:<a@origin.test> SMTPUTF8', /^555 5\.5\.4 unsupported parameter SMTPUTF8$/],
  ['not offered: a UTF-8 sender', 'plain', 'MAIL FROM:<用户@例子.广告>', /^553 5\.6\.7 /],
  ['offered, not asked for: a UTF-8 sender', 'utf8', 'MAIL FROM:<josé@origin.test>', /^553 5\.6\.7 /],
  ['SMTPUTF8 takes no value', 'utf8', 'MAIL FROM:<josé@origin.test> SMTPUTF8=yes', /^501 /],
  ['a bidi override in the local part', 'utf8', 'MAIL FROM:<a\u202eb@origin.test> SMTPUTF8', /^553 5\.1\.7 /],
  ['a C1 control in the local part', 'utf8', 'MAIL FROM:<é\u0085@origin.test> SMTPUTF8', /^501 /],
  ['a leading "-"', 'utf8', 'MAIL FROM:<-é@origin.test> SMTPUTF8', /^553 5\.1\.7 /],
  // A quoted local part is masked from smtp-server's checks (path-syntax.ts): address.ts's hold.
  ['a C1 control in a quoted local part', 'utf8', 'MAIL FROM:<"é\u0085"@origin.test> SMTPUTF8', /^553 5\.1\.7 /],
  ['a quoted UTF-8 local part (accepted)', 'utf8', 'MAIL FROM:<"jo sé"@origin.test> SMTPUTF8', /^250 /],
  ['a quoted UTF-8 local part, not asked for', 'utf8', 'MAIL FROM:<"jo sé"@origin.test>', /^553 5\.6\.7 /],
];

for (const [name, listener, command, expected] of refusals) {
  test(`${name}: ${expected.source}`, async () => {
    const client = await openSession(ports[listener]);
    assert.match((await client.command(command)).line, expected);
    await client.quit();
  });
}

test('not offered: a UTF-8 recipient is refused as before', async () => {
  const client = await openSession(ports.plain);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.match((await client.command('RCPT TO:<用户@例子.广告>')).line, /^553 5\.6\.7 /);
  await client.quit();
});

test('a refused MAIL ... SMTPUTF8 does not leave the next MAIL in UTF-8 mode', async () => {
  const client = await openSession(ports.plain);
  assert.match((await client.command('MAIL FROM:<a@origin.test> SMTPUTF8')).line, /^555 /);
  assert.match((await client.command('MAIL FROM:<josé@origin.test>')).line, /^553 5\.6\.7 /);
  await client.quit();
});

for (const listener of ['utf8', 'plain'] as const) {
  test(`invalid UTF-8 in MAIL and RCPT is a syntax error (501), ${listener}`, async () => {
    const client = await openSession(ports[listener]);
    client.write(Buffer.concat([Buffer.from('MAIL FROM:<a'), Buffer.from([0xff, 0xfe]), Buffer.from('@origin.test> SMTPUTF8\r\n')]));
    assert.match((await client.reply()).line, /^501 /);
    // An overlong encoding of "/" and a lone continuation byte: not UTF-8 either.
    client.write(Buffer.concat([Buffer.from('MAIL FROM:<a'), Buffer.from([0xc0, 0xaf]), Buffer.from('@origin.test>\r\n')]));
    assert.match((await client.reply()).line, /^501 /);
    assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
    client.write(Buffer.concat([Buffer.from('RCPT TO:<x'), Buffer.from([0x80]), Buffer.from('@copy.test>\r\n')]));
    assert.match((await client.reply()).line, /^501 /);
    await client.quit();
  });
}
