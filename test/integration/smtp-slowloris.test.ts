// No slowloris in the command phase: a command line must be complete within Idle_Time of
// its first byte, however the bytes trickle in (421 4.4.2, closed); a line sent in pieces
// within that time is fine, and so is a session that lasts longer than Idle_Time one
// complete line at a time. A line over 16 KiB ends the session with 421 4.5.2.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

async function withDaemon(listener: string, body: (daemon: TestDaemon) => Promise<void>): Promise<void> {
  const daemon = await startDaemon(`
    ESMTP_Listener { ${listener}  Listen "127.0.0.1:0" { } }
    pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "t.test" ) }
  `);
  try {
    await body(daemon);
  } finally {
    await daemon.stop();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a RCPT line trickled a byte every 200 ms is cut with 421 4.4.2 about Idle_Time after its first byte', () =>
  withDaemon('Idle_Time = 1', async (daemon) => {
    const client = await openSession(daemon.port);
    assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
    const line = `RCPT TO:<${'a'.repeat(100)}@t.test>\r\n`;
    const started = performance.now();
    let sent = 0;
    const drip = setInterval(() => client.write(line[sent++] ?? ''), 200);
    try {
      client.write(line[sent++] ?? '');
      // Each byte renews Idle_Time: before the line deadline this session lived on.
      const reply = await client.reply(4000);
      const elapsed = performance.now() - started;
      assert.equal(reply.line, '421 4.4.2 command line took too long, closing');
      assert.ok(elapsed >= 900 && elapsed < 1800, `cut after ${elapsed.toFixed(0)} ms`);
      await client.closed;
    } finally {
      clearInterval(drip);
    }
    assert.ok(sent < line.length, 'the line was never completed');
  }));

test('a line sent in two pieces within Idle_Time is served; so is a session longer than Idle_Time, line by line', () =>
  withDaemon('Idle_Time = 1', async (daemon) => {
    const client = await openSession(daemon.port);
    const started = performance.now();
    for (const [first, rest] of [['MAIL FROM:<a@', 'origin.test>'], ['RCPT TO:<x', '@t.test>'], ['NO', 'OP'], ['RS', 'ET']]) {
      client.write(first ?? '');
      await pause(600);
      client.write(`${rest ?? ''}\r\n`);
      assert.equal((await client.reply()).code, 250);
    }
    assert.ok(performance.now() - started > 2000, 'the session outlived Idle_Time');
    assert.equal((await client.sendMail('a@origin.test', ['x@t.test'], 'hi')).code, 250);
    await client.quit();
  }));

test('a command line over 16 KiB ends the session with 421 4.5.2 (smtp-server cannot resume after it)', () =>
  withDaemon('', async (daemon) => {
    const client = await openSession(daemon.port);
    client.write(`NOOP ${'X'.repeat(20_000)}\r\n`);
    assert.equal((await client.reply()).line, '421 4.5.2 command line too long, closing');
    await client.closed;
  }));
