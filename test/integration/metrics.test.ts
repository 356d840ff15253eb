// Metrics_Listen: /metrics counts what was sent, /healthz and /readyz answer; idle
// connections are few (16) and short-lived (10 s). Under a real fd limit:
// test/process/fd-flood.test.ts.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { makeFifo } from '../helpers/fifo.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
let base: string;

before(async () => {
  daemon = await startDaemon(`
    Metrics_Listen = "127.0.0.1:0"
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "status" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} \${local}" domain = ( "status.test" ) }
    pipe_transport "held" { allow_root = true program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/held.fifo" domain = ( "held.test" ) }
  `);
  const address = daemon.daemon.metricsAddress;
  assert.ok(address, 'the metrics endpoint listens');
  base = `http://127.0.0.1:${address.port}`;
});
after(() => daemon.stop());

/** The value of one sample line, e.g. metric('smtpipe_replies_total{class="2xx"}'); throws if it is missing. */
async function scrape(): Promise<(sample: string) => number> {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  return (sample) => {
    const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
    // A sample that disappeared must fail the test, not read as 0.
    if (line === undefined) throw new Error(`no sample ${sample} in /metrics:\n${text}`);
    return Number(line.slice(sample.length + 1));
  };
}

test('counters match what was sent', async () => {
  const client = await openSession(daemon.port);
  for (const status of ['0', '0', '0', '7', '7']) {
    await client.sendMail('a@origin.test', [`${status}@status.test`], 'hi');
  }
  await client.command('MAIL FROM:<a@origin.test>');
  assert.equal((await client.command('RCPT TO:<x@elsewhere.test>')).code, 550);
  await client.quit();

  const metric = await scrape();
  assert.equal(metric('smtpipe_program_runs_total{transport="status",outcome="ok"}'), 3);
  assert.equal(metric('smtpipe_program_runs_total{transport="status",outcome="exit_nonzero"}'), 2);
  assert.equal(metric('smtpipe_transactions_total{result="delivered"}'), 3);
  assert.equal(metric('smtpipe_transactions_total{result="rejected"}'), 2);
  assert.equal(metric('smtpipe_connections_total'), 1);
  assert.equal(metric('smtpipe_message_recipients_count'), 5);
  assert.equal(metric('smtpipe_message_recipients_sum'), 5);
  assert.equal(metric('smtpipe_program_duration_seconds_count{transport="status"}'), 5);
  // 220, EHLO, 5 x (MAIL, RCPT), 3 final 250s, the last MAIL, 221.
  assert.equal(metric('smtpipe_replies_total{class="2xx"}'), 2 + 10 + 3 + 1 + 1);
  assert.equal(metric('smtpipe_replies_total{class="3xx"}'), 5);
  assert.equal(metric('smtpipe_replies_total{class="5xx"}'), 3);
  assert.equal(metric('smtpipe_pool_queue_depth'), 0);
  assert.ok(metric('process_resident_memory_bytes') > 0, 'default process metrics');
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^smtpipe_build_info\{version="[^"]+"\} 1$/m);
});

test('/healthz and /readyz answer 200 while serving; anything else is 404', async () => {
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal((await fetch(`${base}/other`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
});

test('at most 16 connections; one that sends nothing is closed after 10 s', async () => {
  const address = daemon.daemon.metricsAddress;
  assert.ok(address);
  const started = performance.now();
  const closedAfter: number[] = [];
  const sockets = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(address.port, '127.0.0.1', () => resolve(socket));
          socket.on('error', () => {});
          socket.once('close', () => closedAfter.push(performance.now() - started));
        }),
    ),
  );
  try {
    // Node accepts and closes at once the connections over maxConnections.
    const deadline = Date.now() + 12_000;
    while (closedAfter.length < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const seconds = closedAfter.map((ms) => (ms / 1000).toFixed(1)).join(' ');
    assert.equal(closedAfter.length, 20, `every idle connection was closed (${seconds})`);
    // Over 16 (fetch's own keep-alive connections from the tests above count too).
    assert.ok(closedAfter.filter((ms) => ms < 2000).length >= 4, `those over the limit closed at once (${seconds})`);
    const held = closedAfter.filter((ms) => ms >= 2000);
    assert.ok(held.length > 0 && held.every((ms) => ms > 9000), `those held were closed by the 10 s timeout (${seconds})`);
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'and the endpoint serves again');
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

// Last: it stops the daemon. A load balancer must stop sending while a drain finishes the
// deliveries in flight; the process itself is still healthy.
test('/readyz turns 503 during a drain, /healthz stays 200', async () => {
  // The program blocks opening its output FIFO until the test reads it: a delivery in flight.
  const fifo = makeFifo(path.join(daemon.dir, 'held.fifo'));
  const client = await openSession(daemon.port);
  const reply = client.sendMail('a@origin.test', ['x@held.test'], 'held');
  await eventually(async () => (await scrape())('smtpipe_programs_running') === 1);
  assert.equal((await fetch(`${base}/readyz`)).status, 200, 'ready before the drain');
  const draining = daemon.nextLog((line) => line['msg'] === 'draining');
  const stopped = daemon.daemon.stop();
  await draining;
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.match(await readFile(fifo, 'latin1'), /\nheld\n$/, 'the program got the message');
  assert.equal((await reply).code, 250, 'the delivery in flight finished');
  await client.quit().catch(() => {}); // Handled: the drain may already have closed the session.
  assert.equal(await stopped, 'graceful');
});
