// What real senders put on the wire and smtpipe must take (issue 14, items 6 and 7):
// Python's smtplib with bare LFs (Bare_Newlines = "normalize", the default) and long
// return paths (SRS, VERP, BATV senders over 64 octets, up to the RFC 5321 path limit).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { runPython } from '../helpers/python.js';
import { openSession } from '../helpers/smtp-client.js';

let daemon: TestDaemon;

before(async () => {
  const copy = (eol: string) =>
    `"${fixture('programs', 'cat-to-file.sh')} {{dir}}/${eol}-\${queue_id}.eml" eol = "${eol}" received_header = false`;
  const args = `"${fixture('programs', 'print-args.sh')} {{dir}}/args-\${queue_id} \${sender}"`;
  daemon = await startDaemon(
    `ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "lf" { allow_root = true program_name = ${copy('lf')} domain = ( "lf.test" ) }
    pipe_transport "crlf" { allow_root = true program_name = ${copy('crlf')} domain = ( "crlf.test" ) }
    pipe_transport "args" { allow_root = true program_name = ${args} domain = ( "args.test" ) }`,
  );
});
after(() => daemon.stop());

const python = spawnSync('python3', ['-c', 'import smtplib'], { stdio: 'ignore' }).status === 0;

/** The file the last delivery of the program wrote, by the queue ID the log line names. */
function lastQueueId(logged: number): string {
  const delivered = daemon.logs.slice(logged).filter((line) => line.msg === 'delivery');
  assert.equal(delivered.length, 1, 'exactly one delivery');
  return String(delivered[0]?.queueId);
}

for (const eol of ['lf', 'crlf'] as const) {
  test(`python smtplib.sendmail(msg.as_bytes()) with bare LFs is delivered (default Bare_Newlines), eol ${eol}`, { skip: !python && 'no python3' }, async () => {
    // EmailMessage.as_bytes() ends lines with "\n": smtplib sends bytes as given.
    const script = [
      'import smtplib, sys',
      'from email.message import EmailMessage',
      'm = EmailMessage()',
      'm["Subject"] = "bare"',
      'm["From"] = "a@origin.test"',
      'm.set_content("line 1\\n.\\nline 3\\n")',
      'raw = m.as_bytes()',
      'assert b"\\r" not in raw',
      's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
      `refused = s.sendmail("a@origin.test", ["x@${eol}.test"], raw)`,
      'assert refused == {}, refused',
      's.quit()',
    ].join('\n');
    const logged = daemon.logs.length;
    await runPython(script, daemon.port);
    const body = await readFile(path.join(daemon.dir, `${eol}-${lastQueueId(logged)}.eml`), 'latin1');
    const end = eol === 'lf' ? '\n' : '\r\n';
    // smtplib dot-stuffed the "." line; it arrives as a content line, not an end of DATA.
    assert.match(body, new RegExp(`Subject: bare${end}`));
    // smtplib ends DATA with CRLF.CRLF, adding a CRLF after the last bare LF.
    assert.ok(body.endsWith(`line 1${end}.${end}line 3${end}${end}`), JSON.stringify(body.slice(-40)));
    if (eol === 'lf') assert.doesNotMatch(body, /\r/);
    else assert.doesNotMatch(body, /[^\r]\n/, 'every LF has its CR');
  });
}

// Under the default policy too, DATA ends only on CRLF.CRLF (smtp-hostile tests both
// policies written out): each smuggled end-of-data is content of the one message.
for (const variant of ['\n.\n', '\r\n.\n', '\n.\r\n']) {
  test(`default Bare_Newlines: smuggling ${JSON.stringify(variant)} stays content, one run`, async () => {
    const smuggled = 'MAIL FROM:<evil@origin.test>\r\nRCPT TO:<victim@lf.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n';
    const client = await openSession(daemon.port);
    const logged = daemon.logs.length;
    client.write(`MAIL FROM:<a@origin.test>\r\nRCPT TO:<x@lf.test>\r\nDATA\r\nSubject: outer\r\n\r\nhello${variant}${smuggled}.\r\n`);
    const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply()];
    await client.quit();
    assert.deepEqual(replies.map((r) => r.code), [250, 250, 354, 250]);
    const body = await readFile(path.join(daemon.dir, `lf-${lastQueueId(logged)}.eml`), 'latin1');
    assert.match(body, /^hello\n\.?\nMAIL FROM:<evil@origin\.test>\nRCPT TO:<victim@lf\.test>\nDATA\n/m);
  });
}

test('a 200-octet SRS sender is accepted and given to the program as sent', async () => {
  const local = `SRS0=HHH=TT=origin.test=${'v'.repeat(200 - 'SRS0=HHH=TT=origin.test=@fwd.test'.length)}`;
  const sender = `${local}@fwd.test`;
  assert.equal(Buffer.byteLength(sender), 200);
  const client = await openSession(daemon.port);
  const reply = await client.sendMail(sender, ['x@args.test'], 'Subject: srs\r\n\r\nhi\r\n');
  await client.quit();
  const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1];
  assert.ok(queueId, reply.line);
  const args = await readFile(path.join(daemon.dir, `args-${queueId}`), 'utf8');
  assert.equal(args, `${sender}\n`);
});

// RFC 5321 4.5.3.1.3: a path is at most 256 octets, "<" and ">" included; 4.5.3.1
// names "501 Path too long". smtp-server 3.21.6 takes a mailbox of at most 253 octets
// (a 255-octet path), one short of the RFC's 254: 256 octets are refused there.
for (const [octets, expected] of [
  [255, /^250 /],
  [257, /^501 /],
  [300, /^501 /],
] as const) {
  test(`a sender path of ${octets} octets: ${expected.source}`, async () => {
    const domain = '@fwd.test';
    const sender = `${'s'.repeat(octets - 2 - domain.length)}${domain}`;
    assert.equal(Buffer.byteLength(`<${sender}>`), octets);
    const client = await openSession(daemon.port);
    assert.match((await client.command(`MAIL FROM:<${sender}>`)).line, expected);
    await client.quit();
  });
}

test('a recipient local part keeps the 64-octet limit (RFC 5321 4.5.3.1.1)', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await client.command(`RCPT TO:<${'r'.repeat(64)}@args.test>`)).code, 250);
  assert.match((await client.command(`RCPT TO:<${'r'.repeat(65)}@args.test>`)).line, /^553 5\.1\.3 /);
  await client.quit();
});
