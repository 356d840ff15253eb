// Hostile SMTP input over raw sockets: every case gets a deliberate answer and the
// daemon keeps serving. See docs/security.md for the policy behind each.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, SmtpClient } from '../helpers/smtp-client.js';

let strict: TestDaemon;
let lenient: TestDaemon;
const copy = `"${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml"`;

before(async () => {
  const transport = `pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) received_header = false }`;
  strict = await startDaemon(`ESMTP_Listener { Bare_Newlines = "reject" Listen "127.0.0.1:0" { } }\n${transport}`);
  lenient = await startDaemon(`ESMTP_Listener { Bare_Newlines = "normalize"  Listen "127.0.0.1:0" { } }\n${transport}`);
});
after(() => Promise.all([strict.stop(), lenient.stop()]));

const runs = async (daemon: TestDaemon) => (await readdir(daemon.dir)).filter((f) => f.endsWith('.eml'));

/** Sends raw bytes after EHLO and collects every reply line until the server closes. */
async function exchange(daemon: TestDaemon, raw: string, expectedReplies: number) {
  const client = await openSession(daemon.port);
  client.write(raw);
  const replies = [];
  for (let i = 0; i < expectedReplies; i++) replies.push((await client.reply()).line);
  await client.quit();
  return replies;
}

const SMUGGLING = ['\n.\r\n', '\n.\n', '\r.\r', '\r\n.\r', '\r\n.\n'];

for (const variant of SMUGGLING) {
  const smuggled = `MAIL FROM:<evil@origin.test>\r\nRCPT TO:<victim@copy.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n`;
  const raw =
    'MAIL FROM:<a@origin.test>\r\nRCPT TO:<x@copy.test>\r\nDATA\r\n' +
    `Subject: outer\r\n\r\nhello${variant}${smuggled}.\r\n`;

  test(`smuggling ${JSON.stringify(variant)}, reject: 550 5.6.0, no program, smuggled commands never run`, async () => {
    const before = (await runs(strict)).length;
    const replies = await exchange(strict, raw, 4);
    assert.deepEqual(replies.map((l) => l.slice(0, 3)), ['250', '250', '354', '550']);
    assert.equal(replies[3], '550 5.6.0 message contains a bare CR or LF (RFC 5321 2.3.8)');
    assert.equal((await runs(strict)).length, before);
  });

  test(`smuggling ${JSON.stringify(variant)}, normalize: exactly one run, smuggled lines are content`, async () => {
    const before = new Set(await runs(lenient));
    const replies = await exchange(lenient, raw, 4);
    assert.deepEqual(replies.map((l) => l.slice(0, 3)), ['250', '250', '354', '250']);
    const added = (await runs(lenient)).filter((f) => !before.has(f));
    assert.equal(added.length, 1);
    const body = await readFile(path.join(lenient.dir, added[0] as string), 'latin1');
    assert.doesNotMatch(body, /\r/, 'eol lf: no CR of any kind reaches the program');
    assert.match(body, /^MAIL FROM:<evil@origin\.test>$/m);
  });
}

const envelopeCases: Array<[string, RegExp]> = [
  ['MAIL FROM:<$(id)@origin.test>', /^553 5\.1\.7 /],
  ['MAIL FROM:<a;b@origin.test>', /^553 5\.1\.7 /],
  ['MAIL FROM:<-oX@origin.test>', /^553 5\.1\.7 /],
  ['MAIL FROM:<a b@origin.test>', /^501 /],
  ['MAIL FROM:<a\0b@origin.test>', /^501 /],
  ['MAIL FROM:<a@b@origin.test>', /^501 /],
  ['MAIL FROM:<a@origin.test.>', /^501 /],
  // A sender's local part may pass 64 octets (SRS, VERP; peer-interop G3), not the path limit.
  [`MAIL FROM:<${'a'.repeat(65)}@origin.test>`, /^250 /],
  [`MAIL FROM:<${'a'.repeat(250)}@origin.test>`, /^501 /],
  ['MAIL FROM:<"a b"@origin.test>', /^250 /],
  ['MAIL FROM:<"unterminated@origin.test>', /^(501|553) /],
  ['MAIL FROM:<\xc3\xa9a@origin.test>', /^553 5\.6\.7 /],
  ['MAIL FROM:<a@origin.test> FOO=bar', /^555 5\.5\.4 /],
  ['MAIL FROM:<a@origin.test> SMTPUTF8', /^555 5\.5\.4 /],
  ['MAIL FROM:<a@origin.test> RET=FULL', /^555 5\.5\.4 /],
];

for (const [command, expected] of envelopeCases) {
  test(`envelope: ${JSON.stringify(command).slice(0, 60)} -> ${expected.source}`, async () => {
    const client = await openSession(strict.port);
    assert.match((await client.command(command)).line, expected);
    await client.quit();
  });
}

const recipientCases: Array<[string, RegExp]> = [
  ['RCPT TO:<`id`@copy.test>', /^250 /], // legal atext: data, never shell input
  ['RCPT TO:<"x;y"@copy.test>', /^250 /],
  ['RCPT TO:<a%b@copy.test>', /^250 /],
  ['RCPT TO:<@relay.test,@other.test:s@copy.test>', /^250 /], // source route ignored (RFC 5321 C)
  ['RCPT TO:<x@[127.0.0.1]>', /^550 5\.7\.1 /],
  ['RCPT TO:<x@copy.test> NOTIFY=NEVER', /^555 5\.5\.4 /],
  ['RCPT TO:<$(reboot)@copy.test>', /^553 5\.1\.3 /],
  ['RCPT TO:<-f@copy.test>', /^553 5\.1\.3 /],
  [`RCPT TO:<${'a'.repeat(65)}@copy.test>`, /^553 5\.1\.3 /], // RFC 5321 4.5.3.1.1 for our mailboxes
  ['RCPT TO:<"unterminated@copy.test>', /^(501|553) /],
  ['RCPT TO:<"a"b@copy.test>', /^(501|553) /],
  ['RCPT TO:<"a\tb"@copy.test>', /^(501|553) /],
];

for (const [command, expected] of recipientCases) {
  test(`recipient: ${command} -> ${expected.source}`, async () => {
    const client = await openSession(strict.port);
    await client.command('MAIL FROM:<a@origin.test>');
    assert.match((await client.command(command)).line, expected);
    await client.quit();
  });
}

test('a command line over 512 octets is refused and the session goes on', async () => {
  const client = await openSession(strict.port);
  const reply = await client.command(`MAIL FROM:<a@origin.test> ${'X'.repeat(5000)}`);
  assert.match(reply.line, /^5\d\d /);
  assert.equal((await client.command('NOOP')).code, 250);
  await client.quit();
});

test('10,000 pipelined commands: every reply, in order', async () => {
  const client = await openSession(strict.port);
  const burst = Array.from({ length: 10000 }, (_, i) => (i % 2 === 0 ? 'NOOP\r\n' : 'RSET\r\n')).join('');
  client.write(burst);
  for (let i = 0; i < 10000; i++) {
    const reply = await client.reply();
    assert.equal(reply.code, 250);
    assert.match(reply.line, i % 2 === 0 ? /OK/i : /Flushed/i);
  }
  await client.quit();
});

test('an HTTP request on the SMTP port is refused', async () => {
  const client = await SmtpClient.connect(strict.port);
  assert.equal((await client.reply()).code, 220);
  client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match((await client.reply()).line, /^421 /);
  await client.closed;
});

test('DATA lines over 998 octets and NUL bytes pass through unchanged', async () => {
  const long = 'L'.repeat(5000);
  const client = await openSession(strict.port);
  const reply = await client.sendMail('a@origin.test', ['x@copy.test'], `Subject: long\r\n\r\n${long}\r\nnul\0byte\r\n`);
  assert.equal(reply.code, 250);
  await client.quit();
  const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1] as string;
  assert.equal(await readFile(path.join(strict.dir, `${queueId}.eml`), 'latin1'), `Subject: long\n\n${long}\nnul\0byte\n`);
});

for (const verb of ['EHLO', 'HELO']) {
  test(`${verb} --output=/etc/passwd: 501 5.5.2, and no transaction can start (option injection)`, async () => {
    const before = (await runs(strict)).length;
    const client = await SmtpClient.connect(strict.port);
    assert.equal((await client.reply()).code, 220);
    const helo = await client.command(`${verb} --output=/etc/passwd`);
    assert.equal(helo.line, '501 5.5.2 syntax error in HELO/EHLO argument: domain or address literal required');
    const reply = await client.sendMail('a@origin.test', ['x@copy.test'], 'Subject: s\r\n\r\nb');
    assert.equal(reply.code, 503, 'MAIL needs an accepted HELO/EHLO');
    await client.quit();
    assert.equal((await runs(strict)).length, before);
  });
}

test('an argument whose leading "-" would come from a macro value: 554 5.7.0, no program runs, warn logged', async () => {
  // The null sender is empty, so "\${sender}-bounce" would begin with the operator's "-":
  // the only way left to reach the backstop now that addresses and EHLO names are checked.
  const daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = "${fixture('programs', 'print-args.sh')} {{dir}}/args \${sender}-bounce" domain = ( "copy.test" ) }
  `);
  try {
    const client = await openSession(daemon.port);
    const reply = await client.sendMail('', ['x@copy.test'], 'bounce');
    assert.equal(reply.line, '554 5.7.0 refused: client text would begin a program argument with "-"');
    // The same transport runs for a sender that leads with its own text.
    assert.equal((await client.sendMail('a@origin.test', ['x@copy.test'], 'ok')).code, 250);
    await client.quit();
    assert.equal(await readFile(path.join(daemon.dir, 'args'), 'utf8'), 'a@origin.test-bounce\n');
    assert.equal(daemon.logs.filter((line) => line.msg === 'delivery').length, 1, 'one program run: the second message');
    const refused = daemon.logs.filter((line) => line.msg === 'delivery refused: client text would begin a program argument with "-"');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.level, 40);
    assert.equal(refused[0]?.argument, 2, 'argv[2]');
  } finally {
    await daemon.stop();
  }
});

test('HELO with control characters cannot split the Received: line', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) return_path_header = true delivered_to_header = true }
  `);
  try {
    const client = await SmtpClient.connect(daemon.port);
    await client.reply();
    const helo = await client.command('EHLO evil\x0bX-Injected:\x1byes');
    const reply = await client.sendMail('a@origin.test', ['x@copy.test'], 'Subject: s\r\n\r\nb');
    await client.quit();
    if (helo.code !== 250) return; // refused outright: nothing to inject
    assert.equal(reply.code, 250);
    const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1] as string;
    const stored = await readFile(path.join(daemon.dir, `${queueId}.eml`), 'latin1');
    const headerLines = stored.split('\n\nb')[0]?.split('\n') ?? [];
    for (const line of headerLines) assert.match(line, /^(Return-Path|Delivered-To|Received|Subject): |^\t/);
    const controls = [...stored].filter((c) => c.charCodeAt(0) < 0x20 && c !== '\n' && c !== '\t');
    assert.deepEqual(controls, []);
  } finally {
    await daemon.stop();
  }
});

test('the daemon still delivers after all of the above', async () => {
  const client = await openSession(strict.port);
  assert.equal((await client.sendMail('a@origin.test', ['x@copy.test'], 'fine')).code, 250);
  await client.quit();
});
