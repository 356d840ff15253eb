// Listener limits, the greeting pause and the idle timeout, over real SMTP.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { eventually, startDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, SmtpClient } from '../helpers/smtp-client.js';

const copy = `"${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml"`;

test('Max_Message_Size: advertised as SIZE; oversize gets 552 5.3.4 and no program runs', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Max_Message_Size = 1000  Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    const client = await openSession(daemon.port);
    const ehlo = await client.command('EHLO again.test');
    assert.match(ehlo.text, /^SIZE 1000$/m);
    const reply = await client.sendMail('a@origin.test', ['x@copy.test'], 'x'.repeat(5000));
    assert.equal(reply.line, '552 5.3.4 message size limit exceeded');
    // Large enough to arrive in socket-sized chunks, which are kept by reference until the limit trips.
    const large = await client.sendMail('a@origin.test', ['x@copy.test'], `${'y'.repeat(998)}\r\n`.repeat(2000));
    assert.equal(large.line, '552 5.3.4 message size limit exceeded');
    // The session goes on and the next message fits.
    assert.equal((await client.sendMail('a@origin.test', ['x@copy.test'], 'small')).code, 250);
    await client.quit();
    const files = (await readdir(daemon.dir)).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 1, 'only the message within the limit reached a program');
  } finally {
    await daemon.stop();
  }
});

/** Two sessions fit, the third gets `refusal`; once one ends, a new one fits again. */
async function assertTwoSessionCap(listener: string, refusal: string): Promise<void> {
  const daemon = await startDaemon(`
    ${listener}
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    const first = await openSession(daemon.port);
    const second = await openSession(daemon.port);
    const third = await SmtpClient.connect(daemon.port);
    assert.equal((await third.reply()).line, refusal);
    await third.closed;
    await first.quit();
    // A slot is free again once the server has seen the session end.
    await eventually(() => daemon.daemon.listeners[0]?.sessions === 1);
    const fourth = await openSession(daemon.port);
    await Promise.all([second.quit(), fourth.quit()]);
  } finally {
    await daemon.stop();
  }
}

test('Listener_Sessions: the session over the cap gets 421 4.4.5', () =>
  // Per client off: its default (half of Listener_Sessions) would refuse the second first.
  assertTwoSessionCap('ESMTP_Listener { Listen "127.0.0.1:0" { Listener_Sessions = 2  Max_Sessions_Per_Client = 0 } }', '421 4.4.5 concurrency limit reached'));

test('no greeting pause by default: 220 arrives at once', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    // smtp-server alone waits 100 ms; 20 sessions in a row would take 2 s.
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      const client = await SmtpClient.connect(daemon.port);
      assert.equal((await client.reply()).code, 220);
      client.destroy();
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `20 greetings took ${elapsed.toFixed(0)} ms`);
  } finally {
    await daemon.stop();
  }
});

test('Greeting_Pause: a client that talks before the 220 is refused', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Greeting_Pause = 0.3  Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    const early = await SmtpClient.connect(daemon.port);
    early.write('EHLO early.test\r\n');
    assert.match((await early.reply()).line, /^421 .*talk too soon/);
    const polite = await SmtpClient.connect(daemon.port);
    const started = performance.now();
    assert.equal((await polite.reply()).code, 220);
    assert.ok(performance.now() - started >= 250, 'the pause was kept');
    polite.destroy();
  } finally {
    await daemon.stop();
  }
});

test('Idle_Time does not cut a delivery that runs longer', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Idle_Time = 1  Listen "127.0.0.1:0" { } }
    pipe_transport "slow" { allow_root = true program_name = "${fixture('programs', 'sleep.sh')} 2" domain = ( "slow.test" ) }
  `);
  try {
    const client = await openSession(daemon.port);
    const reply = await client.sendMail('a@origin.test', ['x@slow.test'], 'hi');
    assert.equal(reply.code, 250, reply.line);
    // ...but an idle session is closed with 421.
    assert.match((await client.reply(5000)).line, /^421 /);
  } finally {
    await daemon.stop();
  }
});

test('a client that drops mid-DATA starts no program', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    const client = await openSession(daemon.port);
    await client.command('MAIL FROM:<a@origin.test>');
    await client.command('RCPT TO:<x@copy.test>');
    assert.equal((await client.command('DATA')).code, 354);
    client.write('Subject: half\r\n\r\nhalf a message');
    client.destroy();
    // The daemon has seen the drop once the session is released.
    await eventually(() => daemon.daemon.listeners[0]?.sessions === 0);
    const next = await openSession(daemon.port);
    assert.equal((await next.sendMail('a@origin.test', ['x@copy.test'], 'whole')).code, 250);
    await next.quit();
    // A graceful stop waits for every run: a program wrongly started for the half message
    // would have ended and logged by now, whatever its speed.
    assert.equal(await daemon.daemon.stop(), 'graceful');
    const files = (await readdir(daemon.dir)).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 1);
    assert.equal(daemon.logs.filter((l) => l.msg === 'delivery').length, 1);
  } finally {
    await daemon.stop();
  }
});

test('pool saturated (bounded queue full): 451 4.3.2, the others deliver', async () => {
  const daemon = await startDaemon(`
    Pool_Max_Queue = 1
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "slow" { allow_root = true program_name = "${fixture('programs', 'sleep.sh')} 1" domain = ( "slow.test" ) concurrency = 1 }
  `);
  try {
    const clients = await Promise.all([0, 1, 2].map(() => openSession(daemon.port)));
    const replies = await Promise.all(clients.map((client) => client.sendMail('a@origin.test', ['x@slow.test'], 'hi')));
    const lines = replies.map((r) => r.line).sort();
    assert.equal(lines.filter((l) => l.startsWith('250 ')).length, 2, lines.join('\n'));
    assert.deepEqual(lines.filter((l) => !l.startsWith('250 ')), ['451 4.3.2 system busy, try again later']);
    await Promise.all(clients.map((client) => client.quit()));
  } finally {
    await daemon.stop();
  }
});

test('Max_Receptions_Per_Connection and Max_Recipients_Per_Connection', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { Max_Receptions_Per_Connection = 2  Max_Recipients_Per_Connection = 3 } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    const client = await openSession(daemon.port);
    assert.equal((await client.sendMail('a@origin.test', ['r1@copy.test', 'r2@copy.test'], 'one')).code, 250);
    await client.command('MAIL FROM:<a@origin.test>');
    assert.equal((await client.command('RCPT TO:<r3@copy.test>')).code, 250);
    assert.equal((await client.command('RCPT TO:<r4@copy.test>')).line, '452 4.5.3 too many recipients in this session');
    assert.equal((await client.command('DATA')).code, 354);
    client.write('two\r\n.\r\n');
    assert.equal((await client.reply()).code, 250);
    assert.equal((await client.command('MAIL FROM:<a@origin.test>')).line, '421 4.7.0 too many messages in this session, reconnect');
    await client.closed;
  } finally {
    await daemon.stop();
  }
});

test('Max_Sessions_Per_Client: the next session from the same address gets 421 4.7.0', () =>
  assertTwoSessionCap('ESMTP_Listener { Max_Sessions_Per_Client = 2  Listen "127.0.0.1:0" { } }', '421 4.7.0 too many sessions from your address'));

test('Max_Data_Time: a slow-drip DATA is cut with 421 4.4.2 and no program runs', async () => {
  const daemon = await startDaemon(`
    ESMTP_Listener { Max_Data_Time = 1  Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = ${copy} domain = ( "copy.test" ) }
  `);
  try {
    const client = await openSession(daemon.port);
    await client.command('MAIL FROM:<a@origin.test>');
    await client.command('RCPT TO:<x@copy.test>');
    assert.equal((await client.command('DATA')).code, 354);
    const drip = setInterval(() => client.write('x'), 100);
    try {
      assert.equal((await client.reply(5000)).line, '421 4.4.2 DATA took too long, closing');
      await client.closed;
    } finally {
      clearInterval(drip);
    }
    assert.equal((await readdir(daemon.dir)).filter((f) => f.endsWith('.eml')).length, 0);
  } finally {
    await daemon.stop();
  }
});
