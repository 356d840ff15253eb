// Exit statuses and the program's own words, seen by a real SMTP client: every row of the
// three exit_codes presets, a `code` map over a preset, the global Exit_Codes, and
// reply_from_output with its class guard and hostile text, plus the stderr tail in the
// delivery log line. The expected replies are written out here, as the README shows them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, type SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
let client: SmtpClient;
const p = (name: string) => fixture('programs', name);

before(async () => {
  daemon = await startDaemon(`
    Exit_Codes = "qmail"
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "momentum" { allow_root = true exit_codes = "momentum" program_name = "${p('exit-with.sh')} \${local}" domain = "momentum.test" }
    pipe_transport "sysexits" { allow_root = true exit_codes = "sysexits" program_name = "${p('exit-with.sh')} \${local}" domain = "sysexits.test" }
    # No exit_codes: the global Exit_Codes ("qmail") applies.
    pipe_transport "qmail" { allow_root = true program_name = "${p('exit-with.sh')} \${local}" domain = "qmail.test" }
    pipe_transport "override" {
      allow_root = true
      exit_codes = "sysexits"
      program_name = "${p('exit-with.sh')} \${local}"
      domain = "override.test"
      code = [ 75 = "452 4.2.2 mailbox full, later" 67 = "250 2.0.0 discarded" ]
    }
    pipe_transport "out" { allow_root = true exit_codes = "sysexits" reply_from_output = "stdout" program_name = "${p('exit-say.sh')} out \${local}" domain = "out.test" }
    pipe_transport "err" { allow_root = true exit_codes = "sysexits" reply_from_output = "stderr" program_name = "${p('exit-say.sh')} err \${local}" domain = "err.test" }
    pipe_transport "quiet" { allow_root = true exit_codes = "sysexits" program_name = "${p('exit-say.sh')} err \${local}" domain = "quiet.test" }
    pipe_transport "errfile" {
      allow_root = true
      exit_codes = "sysexits"
      program_name = "${p('exit-say.sh')} err \${local}"
      domain = "errfile.test"
      error_file = "{{dir}}/errfile.err"
    }
  `);
  client = await openSession(daemon.port, 'helo.client.test');
});
after(async () => {
  await client.quit();
  await daemon.stop();
});

/** The reply line to one message for `to`, with the queue ID replaced by ID. */
async function replyTo(to: string): Promise<string> {
  const reply = await client.sendMail('sender@origin.test', [to], 'Subject: t\r\n\r\nbody\r\n');
  return reply.line.replace(/queued as [0-9A-Z]+$/, 'queued as ID');
}

const OK = '250 2.0.0 Ok: queued as ID';

const MOMENTUM: Array<[number, string]> = [
  [0, OK],
  [1, '504 5.5.0 pipe transport gave exit status 1'],
  [75, '504 5.5.0 pipe transport gave exit status 75'],
  [255, '504 5.5.0 pipe transport gave exit status 255'],
];

const SYSEXITS: Array<[number, string]> = [
  [0, OK],
  [64, '554 5.3.0 command line usage error (pipe transport gave exit status 64, EX_USAGE)'],
  [65, '554 5.6.0 data format error (pipe transport gave exit status 65, EX_DATAERR)'],
  [66, '554 5.3.0 cannot open input (pipe transport gave exit status 66, EX_NOINPUT)'],
  [67, '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)'],
  [68, '550 5.1.2 host name unknown (pipe transport gave exit status 68, EX_NOHOST)'],
  [69, '554 5.3.0 service unavailable (pipe transport gave exit status 69, EX_UNAVAILABLE)'],
  [70, '554 5.3.0 internal software error (pipe transport gave exit status 70, EX_SOFTWARE)'],
  [71, '451 4.3.0 system resource problem (pipe transport gave exit status 71, EX_OSERR)'],
  [72, '554 5.3.0 critical OS file missing (pipe transport gave exit status 72, EX_OSFILE)'],
  [73, '550 5.2.0 can\'t create user output file (pipe transport gave exit status 73, EX_CANTCREAT)'],
  [74, '554 5.3.0 input/output error (pipe transport gave exit status 74, EX_IOERR)'],
  [75, '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)'],
  [76, '554 5.5.0 remote error in protocol (pipe transport gave exit status 76, EX_PROTOCOL)'],
  [77, '550 5.7.0 permission denied (pipe transport gave exit status 77, EX_NOPERM)'],
  [78, '554 5.3.5 local configuration error (pipe transport gave exit status 78, EX_CONFIG)'],
  [1, '554 5.3.0 unknown mail system error (pipe transport gave exit status 1)'],
  [111, '554 5.3.0 unknown mail system error (pipe transport gave exit status 111)'],
];

const hard = (n: number) => `554 5.3.0 permanent failure (pipe transport gave exit status ${n})`;
const soft = (n: number) => `451 4.3.0 temporary failure (pipe transport gave exit status ${n})`;
const QMAIL: Array<[number, string]> = [
  [0, OK],
  [99, OK],
  ...[100, 64, 65, 70, 76, 77, 78, 112].map((n): [number, string] => [n, hard(n)]),
  ...[111, 1, 67, 75, 255].map((n): [number, string] => [n, soft(n)]),
];

for (const [preset, rows] of [['momentum', MOMENTUM], ['sysexits', SYSEXITS], ['qmail', QMAIL]] as const) {
  test(`exit_codes = "${preset}": every row of its table`, async () => {
    const actual: Array<[number, string]> = [];
    for (const [status] of rows) actual.push([status, await replyTo(`${status}@${preset}.test`)]);
    assert.deepEqual(actual, rows);
  });
}

test('the transport\'s code map wins over its preset, a 2xx included; the rest stays the preset\'s', async () => {
  assert.equal(await replyTo('75@override.test'), '452 4.2.2 mailbox full, later');
  assert.equal(await replyTo('67@override.test'), '250 2.0.0 discarded');
  assert.equal(await replyTo('68@override.test'), '550 5.1.2 host name unknown (pipe transport gave exit status 68, EX_NOHOST)');
});

test('reply_from_output = "stdout": the first status line words the reply; the exit keeps its code', async () => {
  assert.equal(await replyTo('plain-67@out.test'), '550 5.1.1 No such ticket queue');
  // 70 is a 554 in sysexits: the program's enhanced code and text, our 554.
  assert.equal(await replyTo('plain-70@out.test'), '554 5.1.1 No such ticket queue');
  assert.equal(await replyTo('soft-75@out.test'), '451 4.2.2 Mailbox full');
  // Lines without a code, or with a malformed one, are skipped; the first real one counts.
  assert.equal(await replyTo('noise-67@out.test'), '550 5.7.1 Go away');
  // Exit 0 is a 250 whatever the program printed.
  assert.equal(await replyTo('plain-0@out.test'), OK);
});

test('reply_from_output = "stderr" reads stderr, not stdout; "none" reads nothing', async () => {
  assert.equal(await replyTo('plain-67@err.test'), '550 5.1.1 No such ticket queue');
  assert.equal(await replyTo('plain-75@err.test'), '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)');
  // exit-say.sh wrote to stderr: the "out" transport sees nothing.
  assert.equal(await replyTo('plain-67@quiet.test'), '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)');
});

test('class guard: a 4.x.x line on a hard failure, a 5.x.x on a soft one and any 2.x.x line are ignored', async () => {
  assert.equal(await replyTo('soft-67@out.test'), '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)');
  assert.equal(await replyTo('plain-75@out.test'), '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)');
  assert.equal(await replyTo('two-75@out.test'), '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)');
  assert.equal(await replyTo('two-67@out.test'), '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)');
});

test('hostile text: controls, CR, non-ASCII become "?", a long line is cut, a split line is joined', async () => {
  assert.equal(await replyTo('ctrl-67@out.test'), '550 5.1.1 a?b?[31mc?d e');
  // The CR does not end the reply: it is a "?"; the next line (after LF) is not read.
  assert.equal(await replyTo('crlf-67@out.test'), '550 5.1.1 first?250 2.0.0 injected');
  const long = await replyTo('long-67@out.test');
  assert.equal(long, `550 5.1.1 ${'x'.repeat(200)}`);
  assert.equal(await replyTo('utf8-67@out.test'), '550 5.1.1 M?ller ? unknown');
  assert.equal(await replyTo('split-67@out.test'), '550 5.1.1 split across writes');
});

test('a program that floods its stdout (128 MiB) runs to its exit; a line past the first 64 KiB is not read', async () => {
  const started = Date.now();
  assert.equal(await replyTo('flood-67@out.test'), '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)');
  assert.ok(Date.now() - started < 30_000);
});

test('the last 1 KiB of a failed run\'s stderr goes into the delivery line; not for a success, not with error_file', async () => {
  const failed = daemon.nextLog((l) => l['msg'] === 'delivery' && l['exitCode'] === 75 && l['transport'] === 'quiet');
  assert.equal(await replyTo('tail-75@quiet.test'), '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)');
  const tail = (await failed)['stderrTail'];
  assert.equal(typeof tail, 'string');
  assert.equal(Buffer.byteLength(tail as string), 1024);
  assert.ok((tail as string).endsWith('line 0299 xxxx\n'), String(tail));

  const ok = daemon.nextLog((l) => l['msg'] === 'delivery' && l['exitCode'] === 0 && l['transport'] === 'quiet');
  assert.equal(await replyTo('tail-0@quiet.test'), OK);
  assert.equal((await ok)['stderrTail'], null);

  const toFile = daemon.nextLog((l) => l['msg'] === 'delivery' && l['transport'] === 'errfile');
  await replyTo('tail-75@errfile.test');
  assert.equal((await toFile)['stderrTail'], null);
});
