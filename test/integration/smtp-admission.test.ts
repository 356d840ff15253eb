// Every accepted socket counts: a socket inside a Use_SSL handshake or a greeting pause
// holds a Listener_Sessions slot from accept to close, a handshake has a deadline of its
// own (not Idle_Time), and Max_Sessions_Per_Client defaults to half of Listener_Sessions.
// (PROXY waits: smtp-proxy.test.ts; the fd budget under a real ulimit: test/process/
// fd-flood.test.ts.)
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { SmtpClient } from '../helpers/smtp-client.js';

const CA = await readFile(fixture('tls', 'mx-a.crt'));
const TRANSPORT = `pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "t.test" ) }`;
const TLS_FILES = `TLS_Certificate = "${fixture('tls', 'mx-a.crt')}"  TLS_Key = "${fixture('tls', 'mx-a.key')}"`;

/** A TCP connection that sends nothing; `closed` resolves with what it received. */
async function idleSocket(port: number, host = '127.0.0.1'): Promise<{ socket: net.Socket; closed: Promise<string> }> {
  const socket = new net.Socket();
  let received = '';
  socket.on('data', (data) => (received += data.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  await new Promise<void>((resolve) => socket.connect(port, host, resolve));
  return { socket, closed };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}

async function withDaemon(conf: string, body: (daemon: TestDaemon) => Promise<void>): Promise<void> {
  const daemon = await startDaemon(`${conf}\n${TRANSPORT}`);
  try {
    await body(daemon);
  } finally {
    await daemon.stop();
  }
}

test('Use_SSL: sockets that never start their handshake hold Listener_Sessions; the next is closed at once', () =>
  withDaemon(`ESMTP_Listener { ${TLS_FILES}  Listen "127.0.0.1:0" { Use_SSL = true  Listener_Sessions = 2  Max_Sessions_Per_Client = 0 } }`, async (daemon) => {
    const held = [await idleSocket(daemon.port), await idleSocket(daemon.port)];
    await eventually(() => daemon.daemon.listeners[0]?.sessions === 2);
    // smtp-server kept such sockets outside every count for up to Idle_Time (300 s).
    const over = await idleSocket(daemon.port);
    assert.equal(await withTimeout(over.closed, 2000, 'the socket over the limit closed'), '', 'no plaintext reply to a TLS client');
    assert.equal(daemon.daemon.listeners[0]?.sessions, 2);
    for (const { socket } of held) socket.destroy();
    await eventually(() => daemon.daemon.listeners[0]?.sessions === 0);
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ port: daemon.port, host: '127.0.0.1', ca: CA, servername: 'mx-a.test' }, () => resolve(s));
      s.once('error', reject);
    });
    const client = SmtpClient.over(secure);
    assert.equal((await client.reply()).code, 220);
    await client.command('EHLO client.test');
    assert.equal((await client.sendMail('a@origin.test', ['x@t.test'], 'hi')).code, 250);
    await client.quit();
  }));

test('STARTTLS and Use_SSL sessions give their slot back when they end', () =>
  withDaemon(
    `ESMTP_Listener { ${TLS_FILES}
       Listen "127.0.0.1:0" { SMTP_Extensions = ( "STARTTLS" )  Listener_Sessions = 1 }
       Listen "127.0.0.1:0" { Use_SSL = true  Listener_Sessions = 1 } }`,
    async (daemon) => {
      const [starttls, implicit] = daemon.daemon.listeners.map((l) => l.address?.port ?? 0);
      for (let round = 0; round < 3; round += 1) {
        // STARTTLS drops every listener of the raw socket: its slot must come back anyway.
        const plain = await SmtpClient.connect(starttls ?? 0);
        assert.equal((await plain.reply()).code, 220, `STARTTLS round ${round}`);
        await plain.command('EHLO client.test');
        assert.equal((await plain.command('STARTTLS')).code, 220);
        const upgraded = await new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({ socket: plain.detach(), ca: CA, servername: 'mx-a.test' }, () => resolve(s));
          s.once('error', reject);
        });
        const secure = SmtpClient.over(upgraded);
        assert.equal((await secure.command('EHLO client.test')).code, 250);
        await secure.quit();
        await eventually(() => daemon.daemon.listeners[0]?.sessions === 0);

        const direct = await new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({ port: implicit ?? 0, host: '127.0.0.1', ca: CA, servername: 'mx-a.test' }, () => resolve(s));
          s.once('error', reject);
        });
        const client = SmtpClient.over(direct);
        assert.equal((await client.reply()).code, 220, `Use_SSL round ${round}`);
        await client.quit();
        await eventually(() => daemon.daemon.listeners[1]?.sessions === 0);
      }
    },
  ));

test('Use_SSL: a handshake has 10 s, not Idle_Time', () =>
  withDaemon(`ESMTP_Listener { ${TLS_FILES}  Idle_Time = 300  Listen "127.0.0.1:0" { Use_SSL = true } }`, async (daemon) => {
    const started = performance.now();
    const idle = await idleSocket(daemon.port);
    await withTimeout(idle.closed, 13_000, 'a socket without a ClientHello was closed');
    const waited = (performance.now() - started) / 1000;
    assert.ok(waited > 9, `closed after ${waited.toFixed(1)} s`);
    await eventually(() => daemon.daemon.listeners[0]?.sessions === 0);
  }));

test('Greeting_Pause: sockets inside the pause hold Listener_Sessions; the next gets 421 4.4.5 at once', () =>
  withDaemon('ESMTP_Listener { Greeting_Pause = 5  Listen "127.0.0.1:0" { Listener_Sessions = 2  Max_Sessions_Per_Client = 0 } }', async (daemon) => {
    const paused = [await idleSocket(daemon.port), await idleSocket(daemon.port)];
    const started = performance.now();
    const over = await idleSocket(daemon.port);
    // smtp-server counted a session only after the pause: this one waited 5 s with the others.
    assert.equal(await withTimeout(over.closed, 2000, 'the socket over the limit was answered'), '421 4.4.5 concurrency limit reached\r\n');
    assert.ok(performance.now() - started < 2000);
    for (const { socket } of paused) socket.destroy();
  }));

test('Max_Sessions_Per_Client unset: half of Listener_Sessions (250 of 500) from one address, then 421 4.7.0', () =>
  withDaemon('ESMTP_Listener { Listen "127.0.0.1:0" { } }', async (daemon) => {
    const open: SmtpClient[] = [];
    try {
      for (let i = 0; i < 250; i += 1) {
        const client = await SmtpClient.connect(daemon.port);
        open.push(client);
        assert.equal((await client.reply()).code, 220, `session ${i + 1}`);
      }
      const over = await SmtpClient.connect(daemon.port);
      assert.equal((await over.reply()).line, '421 4.7.0 too many sessions from your address');
      await over.closed;
      const elsewhere = await SmtpClient.connect(daemon.port, '127.0.0.1', '127.0.0.2');
      assert.equal((await elsewhere.reply()).code, 220, 'another address is still let in');
      elsewhere.destroy();
    } finally {
      for (const client of open) client.destroy();
    }
  }));
