// Proxy_Protocol with raw PROXY v1 and v2 headers (test/integration/haproxy.test.ts does
// it through a real HAProxy): the client address of the header reaches the log line, the
// Received: line, ${client_address} and CLIENT_ADDRESS; a peer outside Proxy_Hosts is
// refused; a malformed or missing header closes the connection unanswered, with a log
// line saying why; a socket waiting for its header counts against Listener_Sessions, and
// Max_Sessions_Per_Client counts the header's client.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
let trustedPort = 0;
let untrustedPort = 0;
let onePort = 0;
let perClientPort = 0;

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A PROXY v2 header: PROXY TCP over IPv4 (or IPv6), or LOCAL. */
function v2Header(source: { address: string; port: number } | 'local'): Buffer {
  if (source === 'local') return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const v6 = source.address.includes(':');
  const address = (text: string) => (v6 ? Buffer.from(expandIpv6(text), 'hex') : Buffer.from(text.split('.').map(Number)));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(source.port, 0);
  ports.writeUInt16BE(25, 2);
  const block = Buffer.concat([address(source.address), address(v6 ? '::1' : '127.0.0.1'), ports]);
  return Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, v6 ? 0x21 : 0x11, 0, block.length]), block]);
}

function expandIpv6(text: string): string {
  const [head = '', tail = ''] = text.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  return [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)].map((g) => g.padStart(4, '0')).join('');
}

/** Connects, writes `bytes`, and resolves with everything received until the server closed. */
function sendAndCollect(port: number, host: string, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = net.connect(port, host, () => socket.write(bytes));
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener {
      Proxy_Protocol = true
      Listen "127.0.0.1:0" { }
      Listen "127.0.0.2:0" { Proxy_Hosts = ( "10.0.0.0/8" "::1" ) }
      Listen "127.0.0.3:0" { Listener_Sessions = 1  Max_Sessions_Per_Client = 0 }
      Listen "127.0.0.4:0" { Max_Sessions_Per_Client = 1 }
    }
    pipe_transport "args" {
      allow_root = true
      program_name = "${fixture('programs', 'print-args.sh')} {{dir}}/args \${client_address}"
      domain = ( "args.test" )
    }
    pipe_transport "env" {
      allow_root = true
      program_name = "${fixture('programs', 'print-env.sh')} {{dir}}/env"
      domain = ( "env.test" )
    }
    pipe_transport "message" {
      allow_root = true
      program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/message"
      domain = ( "message.test" )
    }
  `);
  trustedPort = daemon.daemon.listeners[0]?.address?.port ?? 0;
  untrustedPort = daemon.daemon.listeners[1]?.address?.port ?? 0;
  onePort = daemon.daemon.listeners[2]?.address?.port ?? 0;
  perClientPort = daemon.daemon.listeners[3]?.address?.port ?? 0;
});
after(() => daemon.stop());

async function throughProxy(client: string, header: Buffer | string = `PROXY TCP4 ${client} 127.0.0.1 40000 25\r\n`): Promise<SmtpClient> {
  const smtp = await SmtpClient.connect(trustedPort);
  smtp.write(header);
  assert.equal((await smtp.reply()).code, 220);
  assert.equal((await smtp.command('EHLO relay.test')).code, 250);
  return smtp;
}

test("the header's client address reaches the log, Received:, ${client_address} and CLIENT_ADDRESS", async () => {
  const smtp = await throughProxy('203.0.113.7');
  for (const rcpt of ['a@args.test', 'a@env.test', 'a@message.test']) {
    assert.equal((await smtp.sendMail('s@origin.test', [rcpt], 'Subject: proxied\r\n\r\nbody')).code, 250, rcpt);
  }
  await smtp.quit();
  assert.equal(await readFile(path.join(daemon.dir, 'args'), 'utf8'), '203.0.113.7\n');
  const env = (await readFile(path.join(daemon.dir, 'env'), 'utf8')).split('\0');
  assert.ok(env.includes('CLIENT_ADDRESS=203.0.113.7'), env.join(' '));
  assert.match(await readFile(path.join(daemon.dir, 'message'), 'utf8'), /^Received: from relay\.test \(\[203\.0\.113\.7\]\)/);
  const deliveries = daemon.logs.filter((l) => l.msg === 'delivery');
  assert.equal(deliveries.length, 3);
  assert.ok(deliveries.every((l) => l.client === '203.0.113.7'));
});

test('a peer outside Proxy_Hosts gets 421 before anything is read', async () => {
  const smtp = await SmtpClient.connect(untrustedPort, '127.0.0.2');
  const reply = await smtp.reply();
  assert.equal(reply.line, '421 4.7.0 connections here must come through a trusted proxy');
  await smtp.closed;
  await eventually(() => daemon.logs.some((l) => l.msg === 'connection refused: not a trusted proxy (Proxy_Hosts)' && l.peer === '127.0.0.1'));
});

test('v2 headers (HAProxy send-proxy-v2): TCP over IPv4 and IPv6 give the client; LOCAL keeps the peer', async () => {
  const cases: Array<[Buffer, string]> = [
    [v2Header({ address: '192.0.2.44', port: 40001 }), '192.0.2.44'],
    [v2Header({ address: '2001:db8::7', port: 40002 }), '2001:db8::7'],
    [v2Header('local'), '127.0.0.1'],
  ];
  for (const [header, client] of cases) {
    const smtp = await throughProxy(client, header);
    const reply = await smtp.sendMail('s@origin.test', ['v2@args.test'], 'Subject: v2\r\n\r\nbody');
    assert.equal(reply.code, 250, reply.line);
    await smtp.quit();
    const queueId = /queued as (\S+)/.exec(reply.line)?.[1];
    await eventually(() => daemon.logs.some((l) => l.msg === 'delivery' && l.queueId === queueId));
    assert.equal(daemon.logs.find((l) => l.msg === 'delivery' && l.queueId === queueId)?.client, client);
  }
});

test('a malformed header closes the connection unanswered (no "* BAD"), with a warn line saying why', async () => {
  // Each was accepted, or answered with IMAP's "* BAD", by smtp-server's own reader.
  const cases: Array<[string, Buffer | string, string]> = [
    ['SMTP without a header', 'EHLO client.test\r\n', 'not a PROXY header'],
    ['cut short', 'PROXY TCP4\r\n', 'single spaces'],
    ['garbage', 'PROXY garbage-header\r\n', 'is not TCP4, TCP6 or UNKNOWN'],
    ['unknown family', 'PROXY FOO 198.51.100.9 127.0.0.1 1 2604\r\n', 'is not TCP4, TCP6 or UNKNOWN'],
    ['bad address', 'PROXY TCP4 999.1.1.1 127.0.0.1 1 25\r\n', 'source address is not an IPv4 address'],
    ['family mismatch', 'PROXY TCP4 ::ffff:10.0.0.1 127.0.0.1 1 25\r\n', 'source address is not an IPv4 address'],
    ['zone ID', 'PROXY TCP6 fe80::1%eth0 ::1 1 25\r\n', 'source address is not an IPv6 address'],
    ['trailing field', 'PROXY TCP4 10.0.0.1 127.0.0.1 1 25 x\r\n', 'single spaces'],
    ['v2 with a bad command', Buffer.concat([V2_SIGNATURE, Buffer.from([0x2f, 0x11, 0, 0])]), 'command 15'],
    ['over 107 bytes', `PROXY UNKNOWN ${'x'.repeat(200)}`, 'longer than 107'],
  ];
  for (const [name, bytes, reason] of cases) {
    const before = daemon.logs.length;
    const received = await sendAndCollect(trustedPort, '127.0.0.1', bytes);
    assert.equal(received, '', `${name}: nothing is written back`);
    await eventually(() => daemon.logs.slice(before).some((l) => l.msg === 'connection closed: invalid or missing PROXY header'));
    const logged = daemon.logs.slice(before).find((l) => l.msg === 'connection closed: invalid or missing PROXY header');
    assert.equal(logged?.level, 40, name);
    assert.equal(logged?.peer, '127.0.0.1', name);
    assert.equal(logged?.listener, '127.0.0.1:0', name);
    assert.ok(String(logged?.reason).includes(reason), `${name}: ${String(logged?.reason)}`);
    assert.ok(typeof logged?.head === 'string' && logged.head.length > 0, name);
  }
});

test('a socket waiting for its header holds a Listener_Sessions slot; no header within 10 s closes it, logged', async () => {
  // smtp-server's reader held such sockets outside every count, silently.
  const waiting = new net.Socket();
  const waitingClosed = new Promise<number>((resolve) => waiting.once('close', () => resolve(performance.now())));
  await new Promise<void>((resolve) => waiting.connect(onePort, '127.0.0.3', resolve));
  const connectedAt = performance.now();
  await eventually(() => daemon.daemon.listeners[2]?.sessions === 1);
  // The slot is taken: the next connection is refused at once, in SMTP.
  assert.equal(await sendAndCollect(onePort, '127.0.0.3', ''), '421 4.4.5 concurrency limit reached\r\n');
  const closedAt = await waitingClosed;
  const waited = (closedAt - connectedAt) / 1000;
  assert.ok(waited > 9 && waited < 12, `closed after ${waited.toFixed(1)} s`);
  const logged = daemon.logs.find((l) => l.msg === 'connection closed: invalid or missing PROXY header' && l.listener === '127.0.0.3:0');
  assert.equal(logged?.reason, 'no PROXY header within 10 s');
  await eventually(() => daemon.daemon.listeners[2]?.sessions === 0);
  const smtp = await SmtpClient.connect(onePort, '127.0.0.3');
  smtp.write('PROXY TCP4 192.0.2.1 127.0.0.3 1 25\r\n');
  assert.equal((await smtp.reply()).code, 220, 'the slot was given back');
  await smtp.quit();
});

test("Max_Sessions_Per_Client counts the header's client, not the proxy", async () => {
  const connect = async (client: string) => {
    const smtp = await SmtpClient.connect(perClientPort, '127.0.0.4');
    smtp.write(`PROXY TCP4 ${client} 127.0.0.4 1 25\r\n`);
    return { smtp, reply: await smtp.reply() };
  };
  const first = await connect('198.51.100.1');
  assert.equal(first.reply.code, 220);
  const again = await connect('198.51.100.1');
  assert.equal(again.reply.line, '421 4.7.0 too many sessions from your address');
  await again.smtp.closed;
  const other = await connect('198.51.100.2');
  assert.equal(other.reply.code, 220, 'another client behind the same proxy is let in');
  await Promise.all([first.smtp.quit(), other.smtp.quit()]);
});
