// A real Postfix (Debian's) relaying into a real smtpipe, configured as docs/postfix.md
// says: one message for two smtpipe transports, one of them per-recipient (${recipient}),
// arrives in seconds, every recipient in its own program run, nothing deferred, and
// Postfix's log names smtpipe's queue ID. A control shows what the settings prevent (452,
// deferred). .ci/run installs postfix; outside CI a missing one skips.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { POSTFIX, startPostfix, type PostfixInstance } from '../helpers/postfix.js';
import { freePort } from '../helpers/ports.js';
import { openSession } from '../helpers/smtp-client.js';

const skip = POSTFIX === undefined && process.env.CI !== 'true' ? 'postfix is not installed (sh bench/postfix/setup.sh install)' : false;

/** Two smtpipe transports: `batch` (one run per message), `each` (one run per recipient). */
function transports(batchDomains: string, eachDomains: string): string {
  return `
    pipe_transport "batch" { allow_root = true program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/batch-\${queue_id}" domain = ( ${batchDomains} ) }
    pipe_transport "each" { allow_root = true program_name = "${fixture('programs', 'print-args.sh')} {{dir}}/each-\${queue_id} \${recipient}" domain = ( ${eachDomains} ) }
  `;
}

let smtpipe: TestDaemon | undefined;
/** The LMTP case's daemon: started first, so that Postfix is told a port it already holds. */
let lmtp: TestDaemon | undefined;
let postfix: PostfixInstance | undefined;

before(async () => {
  if (skip) return;
  assert.ok(POSTFIX, 'CI must provide postfix: .ci/run installs it');
  smtpipe = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    ${transports('"a.test" "na.test"', '"r.test" "nr.test"')}
  `);
  // Bound before Postfix learns the port: a port picked free and bound later could be
  // taken meanwhile by a test running in parallel (EADDRINUSE).
  lmtp = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    LMTP_Listener { Listen "127.0.0.1:0" { } }
    ${transports('"l.test"', '"lr.test"')}
  `);
  const lmtpPort = lmtp.daemon.listeners.find((listener) => listener.config.protocol === 'lmtp')?.address?.port;
  assert.ok(lmtpPort !== undefined, 'the LMTP listener is bound');
  const relay = `[127.0.0.1]:${smtpipe.port}`;
  postfix = await startPostfix({
    port: await freePort(),
    relayDomains: ['a.test', 'r.test', 'na.test', 'nr.test', 'l.test', 'lr.test'],
    transports: {
      // As docs/postfix.md: one Postfix transport per smtpipe transport; the
      // per-recipient one takes one recipient per delivery.
      'a.test': `smtp:${relay}`,
      'r.test': `smtpipe_each:${relay}`,
      // The control: both through the one smtp transport, Postfix's defaults.
      'na.test': `smtp:${relay}`,
      'nr.test': `smtp:${relay}`,
      // LMTP: every smtpipe domain through one lmtp transport.
      'l.test': `lmtp:inet:[127.0.0.1]:${lmtpPort}`,
      'lr.test': `lmtp:inet:[127.0.0.1]:${lmtpPort}`,
    },
    main: 'smtpipe_each_destination_recipient_limit = 1',
    master: 'smtpipe_each unix  -       -       n       -       -       smtp',
  });
});

after(async () => {
  await postfix?.stop();
  await smtpipe?.stop();
  await lmtp?.stop();
});

/** Submits one message to Postfix's smtpd; returns Postfix's queue ID and the time of its 250. */
async function submit(recipients: string[], subject: string): Promise<{ queueId: string; acceptedAt: number }> {
  assert.ok(postfix);
  const client = await openSession(postfix.port, 'client.test');
  const reply = await client.sendMail('s@origin.test', recipients, `Subject: ${subject}\r\n\r\nthrough Postfix\r\n`);
  const acceptedAt = performance.now();
  await client.quit();
  const queueId = /queued as ([0-9A-Za-z]+)/.exec(reply.line)?.[1];
  assert.ok(queueId, `Postfix accepted the message: ${reply.line}`);
  return { queueId, acceptedAt };
}

/** Waits until smtpipe's delivery lines cover `recipients`; returns them and when the last came. */
async function deliveries(daemon: TestDaemon, recipients: string[], from: number): Promise<{ lines: Array<Record<string, unknown>>; lastAt: number }> {
  const covered = () => daemon.logs.slice(from).filter((l) => l.msg === 'delivery');
  const missing = () => recipients.filter((r) => !covered().some((l) => (l.recipients as string[]).includes(r)));
  while (missing().length > 0) {
    await daemon.nextLog((l) => l.msg === 'delivery', 10_000).catch((error: unknown) => {
      throw new Error(`no program run for ${missing().join(' ')}`, { cause: error });
    });
  }
  return { lines: covered(), lastAt: performance.now() };
}

/** Postfix's log line for `recipient` of message `queueId` with status=sent, and smtpipe's ID in it. */
async function sentLine(queueId: string, recipient: string): Promise<{ line: string; smtpipeId: string }> {
  assert.ok(postfix);
  const escaped = recipient.replaceAll('.', '\\.');
  const line = await postfix.waitLog(new RegExp(`${queueId}: to=<${escaped}>, .*status=(sent|deferred|bounced)`), 10_000);
  const match = /status=sent \(250 2\.0\.0 Ok: queued as ([0-9A-Z]+)\)/.exec(line);
  assert.ok(match?.[1], `Postfix delivered ${recipient} at once: ${line}`);
  return { line, smtpipeId: match[1] };
}

test('Postfix relays one message for two smtpipe transports, two recipients per-recipient, all within seconds and nothing deferred', { skip }, async (t) => {
  assert.ok(smtpipe && postfix);
  const recipients = ['x@a.test', 'y@a.test', 'r1@r.test', 'r2@r.test'];
  const from = smtpipe.logs.length;
  const startedAt = performance.now();
  const { queueId, acceptedAt } = await submit(recipients, 'tuned');
  const { lines, lastAt } = await deliveries(smtpipe, recipients, from);

  // Every run exited 0: one for the batch transport, one per recipient of `each`.
  assert.deepEqual(
    lines.map((l) => [l.transport, l.recipients, l.exitCode]).sort(),
    [
      ['batch', ['x@a.test', 'y@a.test'], 0],
      ['each', ['r1@r.test'], 0],
      ['each', ['r2@r.test'], 0],
    ],
  );
  for (const line of lines) {
    const prefix = line.transport === 'batch' ? 'batch-' : 'each-';
    const written: string = await readFile(path.join(smtpipe.dir, `${prefix}${line.queueId as string}`), 'utf8');
    if (line.transport === 'each') assert.equal(written, `${(line.recipients as string[])[0]}\n`, 'the program got its ${recipient}');
    else assert.match(written, /Subject: tuned/);
  }
  // Postfix logs smtpipe's queue ID for each recipient: the two logs correlate.
  for (const recipient of recipients) {
    const { smtpipeId } = await sentLine(queueId, recipient);
    const run = lines.find((l) => (l.recipients as string[]).includes(recipient));
    assert.equal(smtpipeId, run?.queueId, `Postfix's line for ${recipient} names smtpipe's queue ID`);
  }
  const sentLoggedAt = performance.now();
  await postfix.waitLog(new RegExp(`${queueId}: removed`), 10_000);
  const removedAt = performance.now();
  assert.doesNotMatch(await postfix.log(), new RegExp(`${queueId}: .*status=deferred`));
  assert.deepEqual(await postfix.queue(), [], 'nothing left in any of Postfix queues');
  // A misspelt parameter or a service missing from master.cf shows up here first.
  assert.deepEqual((await postfix.log()).split('\n').filter((l) => /warning:/.test(l)), []);

  const submitToLastMs = lastAt - acceptedAt;
  t.diagnostic(`submit took ${(acceptedAt - startedAt).toFixed(0)} ms; Postfix's 250 -> last program run: ${submitToLastMs.toFixed(0)} ms; -> every status=sent logged: ${(sentLoggedAt - acceptedAt).toFixed(0)} ms; -> queue file removed: ${(removedAt - acceptedAt).toFixed(0)} ms`);
  // Without the settings the second transport's recipient waits for a queue run (300 s by default).
  assert.ok(submitToLastMs < 5000, `every recipient within 5 s (took ${submitToLastMs.toFixed(0)} ms)`);
});

test('control: without a Postfix transport per smtpipe transport, recipients get 452 4.5.3 and wait in the deferred queue', { skip }, async (t) => {
  assert.ok(smtpipe && postfix);
  const from = smtpipe.logs.length;
  const { queueId } = await submit(['x@na.test', 'r1@nr.test', 'r2@nr.test'], 'control');
  await deliveries(smtpipe, ['x@na.test'], from);
  const deferred = await postfix.waitLog(new RegExp(`${queueId}: to=<r1@nr\\.test>, .*status=deferred`), 10_000);
  assert.match(deferred, /452 4\.5\.3 recipient for another transport/);
  const queued = await postfix.queue();
  assert.equal(queued.find((m) => m.queue_id === queueId)?.queue_name, 'deferred');
  assert.equal(smtpipe.logs.slice(from).filter((l) => l.msg === 'delivery').length, 1, 'only the first transport ran');
  t.diagnostic(`deferred as expected: ${deferred.replace(/^.*?: to=/, 'to=')}`);
});

test('Postfix over LMTP: one transaction, one reply and one program run per recipient', { skip }, async (t) => {
  assert.ok(postfix && lmtp);
  {
    const recipients = ['x@l.test', 'r1@lr.test', 'r2@lr.test'];
    const { queueId, acceptedAt } = await submit(recipients, 'lmtp');
    const { lines, lastAt } = await deliveries(lmtp, recipients, 0);
    assert.deepEqual(
      lines.map((l) => [l.transport, l.recipients, l.exitCode]).sort(),
      [
        ['batch', ['x@l.test'], 0],
        ['each', ['r1@lr.test'], 0],
        ['each', ['r2@lr.test'], 0],
      ],
    );
    for (const recipient of recipients) {
      const { smtpipeId } = await sentLine(queueId, recipient);
      assert.equal(smtpipeId, lines.find((l) => (l.recipients as string[]).includes(recipient))?.queueId);
    }
    await postfix.waitLog(new RegExp(`${queueId}: removed`), 10_000);
    assert.equal((await postfix.queue()).filter((m) => m.queue_id === queueId).length, 0);
    t.diagnostic(`LMTP: Postfix's 250 -> last program run: ${(lastAt - acceptedAt).toFixed(0)} ms`);
    assert.ok(lastAt - acceptedAt < 5000);
  }
});
