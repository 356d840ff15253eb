// Inbound_Throttle_Connections / Inbound_Throttle_Messages per client address (the PROXY
// header's when trusted), and every refusal as a log line and a smtpipe_refusals_total count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, SmtpClient } from '../helpers/smtp-client.js';

const TRANSPORT = `pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "t.test" ) }`;

async function withDaemon(conf: string, body: (daemon: TestDaemon) => Promise<void>): Promise<void> {
  const daemon = await startDaemon(`Metrics_Listen = "127.0.0.1:0"\n${conf}\n${TRANSPORT}`);
  try {
    await body(daemon);
  } finally {
    await daemon.stop();
  }
}

async function refusals(daemon: TestDaemon): Promise<(stage: string, reason: string) => number> {
  const text = await (await fetch(`http://127.0.0.1:${daemon.daemon.metricsAddress?.port ?? 0}/metrics`)).text();
  return (stage, reason) => {
    const sample = `smtpipe_refusals_total{stage="${stage}",reason="${reason}"}`;
    const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
    if (line === undefined) throw new Error(`no sample ${sample}`);
    return Number(line.slice(sample.length + 1));
  };
}

/** Connects and returns the first line the server sends, then closes. */
async function greeting(port: number): Promise<string> {
  const client = await SmtpClient.connect(port);
  const reply = await client.reply();
  client.destroy();
  return reply.line;
}

// GCRA refills one event every S/N seconds, so a client may get N + N*t/S in t seconds
// (rate-throttle.ts): the loops count what passed until the first refusal, within that bound.
// Full recovery after a whole window is in test/unit/rate-throttle.test.ts (a clock of its own).

test('Inbound_Throttle_Connections "20/60": the 21st connection gets 421 4.7.0 and is closed; one more 3 s later', () =>
  withDaemon('ESMTP_Listener { Listen "127.0.0.1:0" { Inbound_Throttle_Connections = "20/60" } }', async (daemon) => {
    assert.equal((await refusals(daemon))('connect', 'connection-throttle'), 0, 'present at 0 from start-up');
    const started = performance.now();
    let admitted = 0;
    let refused = '';
    while (refused === '' && admitted < 100) {
      const line = await greeting(daemon.port);
      if (line.startsWith('220 ')) admitted += 1;
      else refused = line;
    }
    const seconds = (performance.now() - started) / 1000;
    assert.equal(refused, '421 4.7.0 too many connections from your address, try again later');
    assert.ok(admitted >= 20 && admitted <= 20 + Math.ceil((20 * seconds) / 60), `${admitted} admitted in ${seconds.toFixed(2)} s`);
    const line = daemon.logs.find((l) => l.reason === 'connection-throttle');
    assert.ok(line, 'a refusal log line');
    assert.equal(line.level, 30);
    assert.equal(line.stage, 'connect');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.reply, '421 4.7.0 too many connections from your address, try again later');
    assert.equal((await refusals(daemon))('connect', 'connection-throttle'), 1);
    await new Promise((resolve) => setTimeout(resolve, 3100));
    assert.match(await greeting(daemon.port), /^220 /, 'one more after S/N = 3 s');
    assert.match(await greeting(daemon.port), /^421 4\.7\.0 /);
  }));

// 100 per 120 s: one message comes back every 1.2 s, wide enough that a loaded machine's delay
// between the last two commands does not refill the bucket (100/60's 0.6 s did, at load 18).
test('Inbound_Throttle_Messages "100/120": the 101st MAIL gets 450 4.7.1, the session stays; one more 1.2 s later', () =>
  withDaemon('ESMTP_Listener { Listen "127.0.0.1:0" { Inbound_Throttle_Messages = "100/120" } }', async (daemon) => {
    const client = await openSession(daemon.port);
    const started = performance.now();
    let accepted = 0;
    let refused = '';
    while (refused === '' && accepted < 500) {
      const reply = await client.command('MAIL FROM:<a@origin.test>');
      if (reply.code === 250) accepted += 1;
      else refused = reply.line;
      await client.command('RSET');
    }
    const seconds = (performance.now() - started) / 1000;
    assert.equal(refused, '450 4.7.1 too many messages from your address, try again later');
    assert.ok(accepted >= 100 && accepted <= 100 + Math.ceil((100 * seconds) / 120), `${accepted} accepted in ${seconds.toFixed(2)} s`);
    assert.equal((await refusals(daemon))('mail', 'message-throttle'), 1);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const oneMore = performance.now();
    assert.equal((await client.sendMail('a@origin.test', ['x@t.test'], 'hi')).code, 250, 'one more after S/N = 1.2 s');
    const next = await client.command('MAIL FROM:<a@origin.test>');
    // Only a machine that stalled this session for 1.2 s could refill the bucket in between.
    if (performance.now() - oneMore < 1200) assert.equal(next.code, 450);
    await client.quit();
  }));

test('behind PROXY, the throttles count the header\'s address; 3000 distinct addresses stay within the bound', () =>
  withDaemon(
    'ESMTP_Listener { Listen "127.0.0.1:0" { Proxy_Protocol = true  Inbound_Throttle_Connections = "2/60"  Inbound_Throttle_Messages = "1/60" } }',
    async (daemon) => {
      const viaProxy = async (client: string) => {
        const smtp = await SmtpClient.connect(daemon.port);
        smtp.write(`PROXY TCP4 ${client} 127.0.0.1 40000 25\r\n`);
        return smtp;
      };
      for (let i = 0; i < 2; i += 1) {
        const smtp = await viaProxy('198.51.100.1');
        assert.equal((await smtp.reply()).code, 220);
        smtp.destroy();
      }
      const third = await viaProxy('198.51.100.1');
      assert.equal((await third.reply()).line, '421 4.7.0 too many connections from your address, try again later');
      // Another client behind the same proxy is not throttled; its messages count for it alone.
      const other = await viaProxy('198.51.100.2');
      assert.equal((await other.reply()).code, 220);
      await other.command('EHLO relay.test');
      assert.equal((await other.command('MAIL FROM:<a@origin.test>')).code, 250);
      await other.command('RSET');
      assert.equal((await other.command('MAIL FROM:<a@origin.test>')).code, 450);
      await other.quit();
      const line = daemon.logs.find((l) => l.reason === 'connection-throttle');
      assert.equal(line?.client, '198.51.100.1');

      // Many distinct addresses: each gets its greeting; the tables stay bounded.
      for (let batch = 0; batch < 60; batch += 1) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const n = batch * 50 + i;
            const smtp = await viaProxy(`10.1.${n >> 8}.${n & 255}`);
            assert.equal((await smtp.reply()).code, 220);
            smtp.destroy();
          }),
        );
      }
      const { connections } = daemon.daemon.listeners[0]?.throttled ?? { connections: -1 };
      assert.equal(connections, 3002, 'one entry per address seen, under the 65536 bound');
      const again = await viaProxy('198.51.100.1');
      assert.equal((await again.reply()).code, 421, 'still throttled');
      again.destroy();
      await eventually(() => daemon.daemon.listeners[0]?.sessions === 0);
    },
  ));

test('refusals of several kinds: a log line each, with reason and reply, and their counts', () =>
  withDaemon('ESMTP_Listener { Listen "127.0.0.1:0" { Max_Recipients_Per_Message = 1  Max_Message_Size = 1000 } }', async (daemon) => {
    const client = await SmtpClient.connect(daemon.port);
    await client.reply();
    assert.equal((await client.command('EHLO not_a_domain!')).code, 501);
    assert.equal((await client.command('EHLO client.test')).code, 250);
    assert.equal((await client.command('MAIL FROM:<a@origin.test> SIZE=5000')).code, 552);
    assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
    assert.equal((await client.command('RCPT TO:<x@elsewhere.test>')).line, '550 5.7.1 relaying denied');
    assert.equal((await client.command('RCPT TO:<y@t.test>')).code, 452);
    await client.command('RSET');
    assert.equal((await client.sendMail('a@origin.test', ['x@t.test'], 'x'.repeat(3000))).code, 552);
    await client.quit();
    const count = await refusals(daemon);
    assert.equal(count('helo', 'helo-syntax'), 1);
    assert.equal(count('mail', 'size'), 1);
    assert.equal(count('rcpt', 'relaying-denied'), 1);
    assert.equal(count('rcpt', 'too-many-recipients'), 1);
    assert.equal(count('data', 'size'), 1);
    assert.equal(count('rcpt', 'other'), 0);
    const lines = daemon.logs.filter((l) => l.stage !== undefined && l.reason !== undefined);
    assert.deepEqual(
      lines.map((l) => [l.stage, l.reason, String(l.reply).slice(0, 3), l.client]),
      [
        ['helo', 'helo-syntax', '501', '127.0.0.1'],
        ['mail', 'size', '552', '127.0.0.1'],
        ['rcpt', 'relaying-denied', '550', '127.0.0.1'],
        ['rcpt', 'too-many-recipients', '452', '127.0.0.1'],
        ['data', 'size', '552', '127.0.0.1'],
      ],
    );
  }));

test('a flood of refusals from one client: every one counted, at most 10 log lines a minute', () =>
  withDaemon('ESMTP_Listener { Listen "127.0.0.1:0" { } }', async (daemon) => {
    const client = await openSession(daemon.port);
    await client.command('MAIL FROM:<a@origin.test>');
    for (let i = 0; i < 40; i += 1) assert.equal((await client.command(`RCPT TO:<x${i}@elsewhere.test>`)).code, 550);
    await client.quit();
    assert.equal((await refusals(daemon))('rcpt', 'relaying-denied'), 40);
    assert.equal(daemon.logs.filter((l) => l.reason === 'relaying-denied').length, 10);
  }));
