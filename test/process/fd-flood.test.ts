// Every accepted socket counts, under a real descriptor limit (ulimit -n 128, the built
// CLI): 300 idle connections to a Use_SSL Listen (no ClientHello), to a Listen with a
// long Greeting_Pause, or to Metrics_Listen are held only up to their limits, the rest
// are closed at once, and a session that had reached 354 on another Listen still starts
// its program and gets its 250. Before, such sockets counted against nothing: the
// daemon's descriptors ran out and that delivery got 451 (EMFILE at spawn).
// At the budget itself, a new session gets 421 4.4.5 and the log line names the budget.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { startCli, type RunningCli as Cli } from '../helpers/cli.js';
import { eventually } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, SmtpClient } from '../helpers/smtp-client.js';

const FLOOD = 300;
const TLS_FILES = `TLS_Certificate = "${fixture('tls', 'mx-a.crt')}"  TLS_Key = "${fixture('tls', 'mx-a.key')}"`;
const TRANSPORT = `pipe_transport "copy" {
  allow_root = true
  program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml"
  domain = ( "copy.test" )
  concurrency = 2
}`;

/** Opens `count` TCP connections that send nothing; counts those the server closes. */
async function flood(port: number, count: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(port, '127.0.0.1');
          socket.on('error', () => {});
          socket.resume(); // A refusal may come with a 421: read it, so that its FIN is seen.
          socket.once('close', () => (closed += 1));
          socket.once('connect', () => resolve(socket));
          socket.once('error', () => resolve(socket));
        }),
    ),
  );
  return { sockets, closed: () => closed };
}

async function until(probe: () => boolean, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while (!probe() && performance.now() - started < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 50));
}

const fds = (cli: Cli) => readdirSync(`/proc/${cli.pid}/fd`).length;

/**
 * A session on the first Listen reaches 354; `target(cli)` is flooded; then the session
 * ends its message, and a new session is served. `held` is the most the target may keep.
 */
async function floodDuringDelivery(t: TestContext, conf: string, target: (cli: Cli) => number, held: number): Promise<void> {
  const cli = await startCli(`${conf}\n${TRANSPORT}`, { shellPrefix: 'ulimit -n 128' });
  let sockets: net.Socket[] = [];
  try {
    const session = await openSession(cli.port);
    assert.equal((await session.command('MAIL FROM:<a@origin.test>')).code, 250);
    assert.equal((await session.command('RCPT TO:<x@copy.test>')).code, 250);
    assert.equal((await session.command('DATA')).code, 354);
    session.write('Subject: during a flood\r\n\r\nhi\r\n');

    const flooded = await flood(target(cli), FLOOD);
    sockets = flooded.sockets;
    await until(() => flooded.closed() >= FLOOD - held, 3000);
    const fdsAtPeak = fds(cli);
    t.diagnostic(`${flooded.closed()} of ${FLOOD} flood connections closed by the daemon; daemon fds ${fdsAtPeak} of 128`);

    session.write('.\r\n');
    const reply = await session.reply();
    assert.match(reply.line, /^250 2\.0\.0 Ok: queued as /, 'the accepted session started its program');
    await session.quit();
    const fresh = await openSession(cli.port);
    assert.match((await fresh.sendMail('a@origin.test', ['y@copy.test'], 'after')).line, /^250 /, 'a new session is served');
    await fresh.quit();

    assert.ok(flooded.closed() >= FLOOD - held, `at most ${held} flood connections held, not ${FLOOD - flooded.closed()}`);
    assert.ok(fdsAtPeak < 128, `daemon descriptors at the limit (${fdsAtPeak})`);
    assert.equal(cli.logs.filter((l) => l.msg === 'delivery failed').length, 0);
  } finally {
    for (const socket of sockets) socket.destroy();
    assert.equal(await cli.stop(), 0);
  }
}

test('300 sockets that never start their TLS handshake (Use_SSL) vs a session at 354 on another Listen', (t) =>
  floodDuringDelivery(
    t,
    `ESMTP_Listener { ${TLS_FILES}
       Listen "127.0.0.1:0" { }
       Listen "127.0.0.1:0" { Use_SSL = true  Listener_Sessions = 20  Max_Sessions_Per_Client = 0 } }`,
    (cli) => cli.ports[1] ?? 0,
    20,
  ));

test('300 sockets inside a 30 s Greeting_Pause vs a session at 354 on another Listen', (t) =>
  floodDuringDelivery(
    t,
    `ESMTP_Listener {
       Listen "127.0.0.1:0" { }
       Listen "127.0.0.1:0" { Greeting_Pause = 30  Listener_Sessions = 20  Max_Sessions_Per_Client = 0 } }`,
    (cli) => cli.ports[1] ?? 0,
    20,
  ));

test('300 idle connections to Metrics_Listen vs a session at 354', (t) =>
  floodDuringDelivery(
    t,
    `Metrics_Listen = "127.0.0.1:0"
     ESMTP_Listener { Listen "127.0.0.1:0" { } }`,
    (cli) => cli.metricsPort ?? 0,
    16,
  ));

test('at the fd budget (ulimit -n 128) a session gets 421 4.4.5 and the log names the budget; a freed slot serves again', async () => {
  // Listener_Sessions and Max_Sessions_Per_Client out of the way: only the budget refuses.
  const cli = await startCli(
    `ESMTP_Listener { Listen "127.0.0.1:0" { Listener_Sessions = 500  Max_Sessions_Per_Client = 0 } }\n${TRANSPORT}`,
    { shellPrefix: 'ulimit -n 128' },
  );
  const held: SmtpClient[] = [];
  try {
    const budget = Number((await cli.logged('file descriptor budget')).sessionLimit);
    assert.ok(budget >= 1 && budget < 128, `session budget ${budget} under 128 descriptors`);
    for (let i = 0; i < budget; i += 1) held.push(await openSession(cli.port));
    const refused = await SmtpClient.connect(cli.port);
    assert.equal((await refused.reply()).line, '421 4.4.5 concurrency limit reached');
    await refused.closed;
    const line = await cli.logged('session refused: file descriptor budget exhausted');
    assert.equal(line.client, '127.0.0.1');

    const freed = held.pop();
    await freed?.quit();
    await freed?.closed;
    // The daemon frees the slot when it sees the close, which may come after ours.
    await eventually(async () => {
      const client = await SmtpClient.connect(cli.port);
      if ((await client.reply()).code === 220) return held.push(client) > 0;
      await client.closed;
      return false;
    });
  } finally {
    for (const client of held) client.socket.destroy();
    assert.equal(await cli.stop(), 0);
  }
});
