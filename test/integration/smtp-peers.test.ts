// Peer "CIDR" { } scopes and Require_TLS through a real client on real sockets: a Peer with
// Enable = false gets 554 5.7.1 instead of the greeting (IPv4, IPv6, a dual-stack socket's
// IPv4 client, a PROXY header's client), a Peer's Max_Message_Size holds for its clients
// only, the most specific prefix wins, Require_TLS answers 530 before STARTTLS and a Peer
// lifts it; each refusal is an info log line with its reason.
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { eventually, scratchDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const port = { v4: 0, v6: 0, dual: 0, proxy: 0, tls: 0, implicit: 0 };

before(async () => {
  const dir = await scratchDir();
  await copyFile(fixture('tls', 'mx-a.crt'), path.join(dir, 'mx.crt'));
  await copyFile(fixture('tls', 'mx-a.key'), path.join(dir, 'mx.key'));
  daemon = await startDaemon(
    `
    ESMTP_Listener {
      Peer "127.0.0.9" { Enable = false }
      Listen "127.0.0.1:0" {
        Peer "127.0.0.0/8" { Max_Message_Size = 200 }
        Peer "127.0.0.5/32" { Enable = false }
        Peer "127.0.0.6/31" { Max_Message_Size = 100000 }
      }
      Listen "[::1]:0" { Peer "::1" { Enable = false } }
      Listen "[::]:0" { Peer "127.0.0.0/8" { Enable = false } }
      Listen "127.0.0.2:0" { Proxy_Protocol = true  Peer "203.0.113.0/24" { Enable = false } }
      Listen "127.0.0.3:0" {
        SMTP_Extensions = ( "STARTTLS" )
        TLS_Certificate = "mx.crt"
        TLS_Key = "mx.key"
        Require_TLS = true
        Peer "127.0.0.4" { Require_TLS = false }
      }
      Listen "127.0.0.4:0" { Use_SSL = true  TLS_Certificate = "mx.crt"  TLS_Key = "mx.key"  Require_TLS = true }
    }
    pipe_transport "t" {
      allow_root = true
      program_name = "/bin/cat"
      domain = ( "peer.test" )
    }
  `,
    dir,
  );
  const ports = daemon.daemon.listeners.map((l) => l.address?.port ?? 0);
  [port.v4, port.v6, port.dual, port.proxy, port.tls, port.implicit] = ports as [number, number, number, number, number, number];
});
after(() => daemon.stop());

/** Connects from `from` and reads the first reply (the greeting, or the refusal). */
async function greet(portNumber: number, host: string, from?: string): Promise<{ client: SmtpClient; line: string }> {
  const client = await SmtpClient.connect(portNumber, host, from);
  return { client, line: (await client.reply()).line };
}

async function assertDenied(portNumber: number, host: string, from: string | undefined, client: RegExp): Promise<void> {
  const { client: smtp, line } = await greet(portNumber, host, from);
  assert.equal(line, '554 5.7.1 access denied');
  await smtp.closed;
  await eventually(() => daemon.logs.some((l) => l.msg === 'refused' && client.test(String(l.client)) && l.detail === 'access denied (Peer Enable = false)'));
}

const body = (bytes: number) => `Subject: size\r\n\r\n${'x'.repeat(bytes)}`;

test('a Peer with Enable = false: 554 5.7.1 access denied instead of the greeting, then closed (IPv4)', async () => {
  await assertDenied(port.v4, '127.0.0.1', '127.0.0.5', /^127\.0\.0\.5$/);
  // The listener's Peer applies to every Listen, and beats the Listen's wider /8.
  await assertDenied(port.v4, '127.0.0.1', '127.0.0.9', /^127\.0\.0\.9$/);
  const { client, line } = await greet(port.v4, '127.0.0.1', '127.0.0.7');
  assert.match(line, /^220 /);
  await client.quit();
});

test('IPv6: a Peer "::1" refuses ::1', async () => {
  await assertDenied(port.v6, '::1', undefined, /^::1$/);
});

test("a dual-stack Listen judges an IPv4 client (::ffff:127.0.0.1) by the IPv4 Peers", async () => {
  await assertDenied(port.dual, '127.0.0.1', undefined, /^(::ffff:)?127\.0\.0\.1$/);
});

test("behind PROXY, the header's client address is the one judged", async () => {
  const denied = await SmtpClient.connect(port.proxy, '127.0.0.2');
  denied.write('PROXY TCP4 203.0.113.7 127.0.0.2 40000 25\r\n');
  assert.equal((await denied.reply()).line, '554 5.7.1 access denied');
  await denied.closed;
  await eventually(() => daemon.logs.some((l) => l.msg === 'refused' && l.client === '203.0.113.7'));
  const allowed = await SmtpClient.connect(port.proxy, '127.0.0.2');
  allowed.write('PROXY TCP4 198.51.100.7 127.0.0.2 40000 25\r\n');
  assert.match((await allowed.reply()).line, /^220 /);
  await allowed.quit();
});

test("a Peer's Max_Message_Size holds for its clients only; the most specific prefix wins", async () => {
  // 127.0.0.1 is in the /8 (200 bytes); 127.0.0.6 in the /31 that raises it again.
  const small = await greet(port.v4, '127.0.0.1', '127.0.0.1');
  const ehlo = await small.client.command('EHLO client.test');
  assert.match(ehlo.text, /^SIZE 200$/m);
  assert.equal((await small.client.sendMail('a@origin.test', ['x@peer.test'], body(1000))).line, '552 5.3.4 message size limit exceeded');
  assert.equal((await small.client.command('MAIL FROM:<a@origin.test> SIZE=1000')).line, '552 5.3.4 message size limit exceeded');
  await small.client.quit();
  await eventually(() => daemon.logs.some((l) => l.msg === 'refused' && l.detail === 'declared SIZE over Max_Message_Size' && l.peer === '127.0.0.0/8'));

  const large = await greet(port.v4, '127.0.0.1', '127.0.0.6');
  assert.match((await large.client.command('EHLO client.test')).text, /^SIZE 100000$/m);
  assert.equal((await large.client.sendMail('a@origin.test', ['x@peer.test'], body(1000))).code, 250);
  await large.client.quit();
});

test('Require_TLS: 530 before STARTTLS, 250 after; a Peer lifts it for its network', async () => {
  const plain = await SmtpClient.connect(port.tls, '127.0.0.3', '127.0.0.1');
  assert.match((await plain.reply()).line, /^220 /);
  assert.equal((await plain.command('EHLO client.test')).code, 250);
  assert.equal((await plain.command('MAIL FROM:<a@origin.test>')).line, '530 5.7.0 Must issue a STARTTLS command first');
  await eventually(() => daemon.logs.some((l) => l.msg === 'refused' && l.detail === 'TLS required (Require_TLS)' && l.client === '127.0.0.1'));
  assert.match((await plain.command('STARTTLS')).line, /^220 /);
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ socket: plain.detach(), rejectUnauthorized: false, servername: 'mx-a.test' }, () => resolve(s));
    s.once('error', reject);
  });
  const secure = SmtpClient.over(socket);
  assert.equal((await secure.command('EHLO client.test')).code, 250);
  assert.equal((await secure.sendMail('a@origin.test', ['x@peer.test'], body(10))).code, 250);
  await secure.quit();

  const trusted = await SmtpClient.connect(port.tls, '127.0.0.3', '127.0.0.4');
  assert.match((await trusted.reply()).line, /^220 /);
  assert.equal((await trusted.command('EHLO client.test')).code, 250);
  assert.equal((await trusted.sendMail('a@origin.test', ['x@peer.test'], body(10))).code, 250);
  await trusted.quit();
});

test('Require_TLS: implicit TLS (Use_SSL) counts as TLS', async () => {
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.4', port: port.implicit, rejectUnauthorized: false, servername: 'mx-a.test' }, () => resolve(s));
    s.once('error', reject);
  });
  const client = SmtpClient.over(socket);
  assert.match((await client.reply()).line, /^220 /);
  assert.equal((await client.command('EHLO client.test')).code, 250);
  assert.equal((await client.sendMail('a@origin.test', ['x@peer.test'], body(10))).code, 250);
  await client.quit();
});

test('a reload that adds a Peer applies it to the next session', async () => {
  const conf = await readFile(daemon.file, 'utf8');
  await writeFile(daemon.file, conf.replace('Peer "127.0.0.5/32" { Enable = false }', 'Peer "127.0.0.5/32" { Enable = false }\n Peer "127.0.0.10" { Enable = false }'));
  const before = await greet(port.v4, '127.0.0.1', '127.0.0.10');
  assert.match(before.line, /^220 /);
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  await assertDenied(port.v4, '127.0.0.1', '127.0.0.10', /^127\.0\.0\.10$/);
  // A session already open is not cut: Enable is judged at the greeting only.
  assert.equal((await before.client.command('EHLO client.test')).code, 250);
  assert.equal((await before.client.command('MAIL FROM:<a@origin.test>')).code, 250);
  before.client.destroy();
});
