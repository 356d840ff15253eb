// TLS with a real TLS client (node:tls): STARTTLS and implicit TLS deliver, a command
// pipelined after STARTTLS is never executed, and a reload swaps the certificate
// without dropping the sessions already open.
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { dotStuff, openSession, SmtpClient, type Reply } from '../helpers/smtp-client.js';

const CA = { a: await readFile(fixture('tls', 'mx-a.crt')), b: await readFile(fixture('tls', 'mx-b.crt')) };

async function deliver(client: SmtpClient, rcpt: string): Promise<string> {
  return (await client.sendMail('a@origin.test', [rcpt], 'Subject: tls\r\n\r\nsecret')).line;
}

const line = async (reply: Promise<Reply>) => (await reply).line;

function upgrade(socket: net.Socket, ca: Buffer, servername: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, ca, servername }, () => resolve(secure));
    secure.once('error', reject);
  });
}

/** Connects, reads 220, EHLO, STARTTLS, handshake, EHLO again. */
async function startTls(port: number, ca: Buffer, servername: string): Promise<SmtpClient> {
  const plain = await SmtpClient.connect(port);
  assert.match(await line(plain.reply()), /^220 /);
  assert.match(await line(plain.command('EHLO client.test')), /^250 /);
  assert.match(await line(plain.command('STARTTLS')), /^220 /);
  const secure = SmtpClient.over(await upgrade(plain.detach(), ca, servername));
  assert.match(await line(secure.command('EHLO client.test')), /^250 /);
  return secure;
}

/** Connects to the Use_SSL Listen, reads 220, EHLO. */
async function implicitTls(): Promise<SmtpClient> {
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.2', port: implicitPort, ca: CA.a, servername: 'mx-a.test' }, () => resolve(s));
    s.once('error', reject);
  });
  const client = SmtpClient.over(socket);
  assert.match(await line(client.reply()), /^220 /);
  assert.match(await line(client.command('EHLO client.test')), /^250 /);
  return client;
}

let daemon: TestDaemon;
let starttlsPort = 0;
let implicitPort = 0;
let proxiedPort = 0;

before(async () => {
  const dir = await (await import('../helpers/daemon.js')).scratchDir();
  await copyFile(fixture('tls', 'mx-a.crt'), path.join(dir, 'mx.crt'));
  await copyFile(fixture('tls', 'mx-a.key'), path.join(dir, 'mx.key'));
  daemon = await startDaemon(
    `
    ESMTP_Listener {
      TLS_Certificate = "mx.crt"
      TLS_Key = "{{dir}}/mx.key"
      Listen "127.0.0.1:0" { SMTP_Extensions = ( "STARTTLS" ) }
      Listen "127.0.0.2:0" { Use_SSL = true }
      Listen "127.0.0.3:0" { Use_SSL = true Proxy_Protocol = true Proxy_Hosts = ( "127.0.0.1" ) }
    }
    pipe_transport "t" {
      allow_root = true
      program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml"
      domain = ( "tls.test" )
    }
  `,
    dir,
  );
  const [plain, implicit, proxied] = daemon.daemon.listeners;
  starttlsPort = plain?.address?.port ?? 0;
  implicitPort = implicit?.address?.port ?? 0;
  proxiedPort = proxied?.address?.port ?? 0;
});
after(() => daemon.stop());

test('STARTTLS: a real TLS client upgrades, delivers, and the Received: line says ESMTPS', async () => {
  const client = await startTls(starttlsPort, CA.a, 'mx-a.test');
  const reply = await deliver(client, 'someone@tls.test');
  const queueId = /queued as (\S+)/.exec(reply)?.[1];
  assert.ok(queueId, reply);
  const message = await readFile(path.join(daemon.dir, `${queueId}.eml`), 'latin1');
  assert.match(message, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)\n\tby [^]*? with ESMTPS id /);
  const line = daemon.logs.find((l) => l.msg === 'delivery' && l.queueId === queueId);
  assert.match(String(line?.tls), /^TLSv1\.[23] \S+$/, 'the delivery line says the session was encrypted');
  assert.match(message, /secret/);
  await client.quit();
});

test('a 2 MB message full of stuffed dots arrives byte-exact over plain TCP, STARTTLS and Use_SSL, with a command pipelined behind it', async () => {
  // TLS hands the parser records, plain TCP socket reads: the DATA decoder keeps chunks by
  // reference and edits them in place, so every byte is checked at the program. The
  // message starts with a dot line, and NOOP follows the final dot in the same write.
  const lines: string[] = ['.first line', 'Subject: big', ''];
  for (let i = 0; lines.length < 40_000; i += 1) lines.push(i % 7 === 0 ? `.line ${i}` : i % 11 === 0 ? '.' : `line ${i} ${'x'.repeat(i % 70)}`);
  const body = lines.join('\r\n');
  const clients = [await openSession(starttlsPort), await startTls(starttlsPort, CA.a, 'mx-a.test'), await implicitTls()];
  for (const client of clients) {
    assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
    assert.equal((await client.command('RCPT TO:<someone@tls.test>')).code, 250);
    assert.equal((await client.command('DATA')).code, 354);
    client.write(`${dotStuff(body)}.\r\nNOOP\r\n`);
    const reply = (await client.reply()).line;
    assert.match((await client.reply()).line, /^250 /, 'the pipelined NOOP was read after the message');
    const queueId = /queued as (\S+)/.exec(reply)?.[1];
    assert.ok(queueId, reply);
    const message = await readFile(path.join(daemon.dir, `${queueId}.eml`), 'latin1');
    const delivered = message.slice(message.indexOf('.first line'));
    assert.equal(delivered, `${body.replaceAll('\r\n', '\n')}\n`);
    await client.quit();
  }
});

test('a command pipelined after STARTTLS in the same packet is not executed', async () => {
  const plain = await SmtpClient.connect(starttlsPort);
  assert.match(await line(plain.reply()), /^220 /);
  assert.match(await line(plain.command('EHLO client.test')), /^250 /);
  // The CVE-2011-0411 pattern: plaintext injected behind STARTTLS.
  plain.write('STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n');
  assert.match(await line(plain.reply()), /^220 /);
  const secure = SmtpClient.over(await upgrade(plain.detach(), CA.a, 'mx-a.test'));
  assert.match(await line(secure.command('EHLO client.test')), /^250 /);
  // Had MAIL FROM run, RCPT would be accepted now.
  assert.match(await line(secure.command('RCPT TO:<someone@tls.test>')), /^503 /);
  assert.deepEqual(plain.unread, [], 'no reply was sent to the injected command');
  await secure.command('QUIT');
});

test('EHLO offers STARTTLS on a Listen that has it', async () => {
  const plain = await SmtpClient.connect(starttlsPort);
  await plain.reply();
  assert.match((await plain.command('EHLO client.test')).text, /^STARTTLS$/m);
  await plain.quit();
});

test('Use_SSL: TLS from the first byte, then a normal session', async () => {
  const client = await implicitTls();
  assert.match(await deliver(client, 'someone@tls.test'), /^250 2\.0\.0 /);
  await client.quit();
});

test('Use_SSL behind a PROXY header (HAProxy in TCP mode): header in clear, then TLS', async () => {
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(proxiedPort, '127.0.0.3', () => resolve(s));
    s.once('error', reject);
  });
  raw.write('PROXY TCP4 198.51.100.9 127.0.0.3 40000 465\r\n');
  const client = SmtpClient.over(await upgrade(raw, CA.a, 'mx-a.test'));
  assert.match(await line(client.reply()), /^220 /);
  assert.match(await line(client.command('EHLO relay.test')), /^250 /);
  const reply = await deliver(client, 'someone@tls.test');
  await client.quit();
  const logged = daemon.logs.find((l) => l.msg === 'delivery' && l.queueId === /queued as (\S+)/.exec(reply)?.[1]);
  assert.equal(logged?.client, '198.51.100.9');
  assert.match(String(logged?.tls), /^TLSv1\.[23] /);
});

test('Use_SSL behind PROXY: the header and the ClientHello in one segment (HAProxy may coalesce them)', async () => {
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(proxiedPort, '127.0.0.3', () => resolve(s));
    s.once('error', reject);
  });
  // The TLS client writes through this bridge; its first write (the ClientHello) goes out
  // glued to the header, so the server reads both in one chunk and must keep the rest.
  let header: Buffer | null = Buffer.from('PROXY TCP6 2001:db8::9 ::1 40000 465\r\n');
  const bridge = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      raw.write(header ? Buffer.concat([header, chunk]) : chunk, callback);
      header = null;
    },
    final(callback) {
      raw.end(callback);
    },
  });
  raw.on('data', (data: Buffer) => bridge.push(data));
  raw.on('end', () => bridge.push(null));
  raw.on('close', () => bridge.destroy());
  const client = SmtpClient.over(await upgrade(bridge as unknown as net.Socket, CA.a, 'mx-a.test'));
  assert.match(await line(client.reply()), /^220 /);
  assert.match(await line(client.command('EHLO relay.test')), /^250 /);
  const reply = await deliver(client, 'someone@tls.test');
  await client.quit();
  const logged = daemon.logs.find((l) => l.msg === 'delivery' && l.queueId === /queued as (\S+)/.exec(reply)?.[1]);
  assert.equal(logged?.client, '2001:db8::9');
});

test('a reload swaps the certificate; sessions already encrypted keep going', async () => {
  const open = await startTls(starttlsPort, CA.a, 'mx-a.test');
  await copyFile(fixture('tls', 'mx-b.crt'), path.join(daemon.dir, 'mx.crt'));
  await copyFile(fixture('tls', 'mx-b.key'), path.join(daemon.dir, 'mx.key'));
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  // A new session is handed the new certificate (and would fail to verify the old name).
  const fresh = await startTls(starttlsPort, CA.b, 'mx-b.test');
  const peer = (fresh.socket as tls.TLSSocket).getPeerCertificate();
  assert.equal(peer.subject.CN, 'mx-b.test');
  assert.match(await deliver(fresh, 'someone@tls.test'), /^250 /);
  // The session that started under certificate A was not dropped.
  assert.match(await deliver(open, 'someone@tls.test'), /^250 /);
  await Promise.all([open.quit(), fresh.quit()]);
});
