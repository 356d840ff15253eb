// Options that restrict who may send are honoured, not warned about and dropped (issue 11
// item 10; peer-interop B1, B2): Enable = false leaves a Listen unbound, and
// TLS_Verify_Mode / TLS_Client_CA ask for client certificates, with real TLS clients
// (node:tls) holding certificates from test/fixtures/tls.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { scratchDir, startDaemon, writeConfig, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { SmtpClient } from '../helpers/smtp-client.js';

const file = async (name: string) => readFile(fixture('tls', name));
const SERVER_CA = await file('mx-a.crt');
/** Issued by TLS_Client_CA, and by a CA the daemon does not know. */
const TRUSTED = { cert: await file('client.crt'), key: await file('client.key') };
const STRANGER = { cert: await file('other-client.crt'), key: await file('other-client.key') };
type Identity = typeof TRUSTED | undefined;

/** A port nothing listens on right now, for the disabled Listen. */
async function unusedPort(host: string): Promise<number> {
  const probe = net.createServer().listen(0, host);
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

let daemon: TestDaemon;
const ports = { starttlsRequire: 0, implicitRequire: 0, starttlsOptional: 0, disabled: 0 };

/** The third Listen's TLS_Verify_Mode is what the reload test changes (a reload keeps the port-0 Listens). */
const conf = (optionalMode: string) => `
    ESMTP_Listener {
      TLS_Certificate = "${fixture('tls', 'mx-a.crt')}"
      TLS_Key = "${fixture('tls', 'mx-a.key')}"
      TLS_Client_CA = "ca.pem"
      Listen "127.0.0.1:0" { SMTP_Extensions = ( "STARTTLS" ) TLS_Verify_Mode = "require" }
      Listen "127.0.0.2:0" { Use_SSL = true TLS_Verify_Mode = "require" }
      Listen "127.0.0.3:0" { SMTP_Extensions = ( "STARTTLS" ) TLS_Verify_Mode = "${optionalMode}" }
      Listen "127.0.0.4:${ports.disabled}" { Enable = false }
    }
    pipe_transport "message" {
      allow_root = true
      program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml"
      domain = ( "message.test" )
    }
    pipe_transport "env" {
      allow_root = true
      program_name = "${fixture('programs', 'print-env.sh')} {{dir}}/\${queue_id}.env"
      domain = ( "env.test" )
    }
  `;

before(async () => {
  ports.disabled = await unusedPort('127.0.0.4');
  const dir = await scratchDir();
  await copyFile(fixture('tls', 'client-ca.crt'), path.join(dir, 'ca.pem'));
  daemon = await startDaemon(conf('optional'), dir);
  const [starttlsRequire, implicitRequire, starttlsOptional] = daemon.daemon.listeners;
  ports.starttlsRequire = starttlsRequire?.address?.port ?? 0;
  ports.implicitRequire = implicitRequire?.address?.port ?? 0;
  ports.starttlsOptional = starttlsOptional?.address?.port ?? 0;
});
after(() => daemon.stop());

function handshake(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ ca: SERVER_CA, servername: 'mx-a.test', ...options }, () => resolve(secure));
    secure.once('error', reject);
  });
}

/** 220, EHLO, STARTTLS, a handshake presenting `identity` (or nothing). */
async function startTls(port: number, host: string, identity: Identity): Promise<SmtpClient> {
  const plain = await SmtpClient.connect(port, host);
  assert.equal((await plain.reply()).code, 220);
  assert.equal((await plain.command('EHLO sender.example')).code, 250);
  assert.equal((await plain.command('STARTTLS')).code, 220);
  return SmtpClient.over(await handshake({ socket: plain.detach(), ...identity }));
}

/** Sends one message; its reply, the delivered file (or '' when refused) and the delivery line. */
async function deliver(client: SmtpClient, rcpt = 'someone@message.test') {
  assert.equal((await client.command('EHLO sender.example')).code, 250);
  const reply = await client.sendMail('a@origin.test', [rcpt], 'Subject: mtls\r\n\r\nbody');
  const queueId = /queued as (\S+)/.exec(reply.line)?.[1];
  const line = daemon.logs.find((l) => l.msg === 'delivery' && l.queueId === queueId);
  const delivered = queueId && rcpt.endsWith('@message.test') ? await readFile(path.join(daemon.dir, `${queueId}.eml`), 'latin1') : '';
  return { reply: reply.line, queueId, delivered, logged: line?.clientCertificate as Record<string, unknown> | null | undefined };
}

const VERIFIED_RECEIVED = /\n\t\(Client CN "client\.test", Issuer "smtpipe test client CA" \(verified OK\)\)\n\tby /;

test('require (STARTTLS): a verified certificate is accepted, named in Received: and the log, never in the environment', async () => {
  const client = await startTls(ports.starttlsRequire, '127.0.0.1', TRUSTED);
  const message = await deliver(client);
  assert.match(message.reply, /^250 /);
  assert.match(message.delivered, VERIFIED_RECEIVED);
  assert.deepEqual(message.logged, {
    verified: true,
    error: null,
    subject: 'O=smtpipe tests, CN=client.test',
    issuer: 'O=smtpipe tests, CN=smtpipe test client CA',
    commonName: 'client.test',
    issuerCommonName: 'smtpipe test client CA',
    fingerprint256: new X509Certificate(TRUSTED.cert).fingerprint256,
  });
  const env = await deliver(client, 'someone@env.test');
  const environment = await readFile(path.join(daemon.dir, `${env.queueId}.env`), 'latin1');
  assert.doesNotMatch(environment, /client\.test|client CA/, 'the program sees no certificate names');
  await client.quit();
});

test('require (STARTTLS): no certificate, or one from another CA, gets 421 4.7.1 after the handshake; MAIL before STARTTLS gets 530', async () => {
  for (const [identity, text] of [
    [undefined, '421 4.7.1 no client certificate presented, closing'],
    [STRANGER, '421 4.7.1 client certificate not trusted, closing'],
  ] as const) {
    const refused = await startTls(ports.starttlsRequire, '127.0.0.1', identity);
    assert.equal((await refused.reply()).line, text);
    await refused.closed;
  }
  const refusals = daemon.logs.filter((l) => l.msg === 'session refused: TLS_Verify_Mode = require and no verified client certificate');
  assert.deepEqual(refusals.map((l) => (l.clientCertificate as { verified?: boolean } | null)?.verified ?? null), [null, false]);
  const plain = await SmtpClient.connect(ports.starttlsRequire);
  await plain.reply();
  await plain.command('EHLO sender.example');
  assert.equal((await plain.command('MAIL FROM:<a@origin.test>')).line, '530 5.7.0 Must issue a STARTTLS command first');
  await plain.quit();
});

test('require (Use_SSL): the handshake itself is refused without a verified certificate', async () => {
  for (const identity of [undefined, STRANGER]) {
    // TLS 1.3 finishes the client's side first; the refusal then arrives as an alert.
    const outcome = await handshake({ host: '127.0.0.2', port: ports.implicitRequire, ...identity }).then(
      async (socket) => {
        const greeting = SmtpClient.over(socket);
        const ended = await Promise.race([greeting.closed.then(() => 'closed'), greeting.reply(5000).then((r) => r.line)]);
        return ended;
      },
      (error: Error) => `refused: ${error.message}`,
    );
    assert.ok(outcome === 'closed' || outcome.startsWith('refused:'), `no greeting without a verified certificate (${outcome})`);
  }
  const socket = await handshake({ host: '127.0.0.2', port: ports.implicitRequire, ...TRUSTED });
  const client = SmtpClient.over(socket);
  assert.equal((await client.reply()).code, 220);
  const message = await deliver(client);
  assert.match(message.reply, /^250 /);
  assert.match(message.delivered, VERIFIED_RECEIVED);
  await client.quit();
});

test('optional: no certificate is accepted with no name; one from another CA is accepted and not marked verified', async () => {
  const anonymous = await startTls(ports.starttlsOptional, '127.0.0.3', undefined);
  const none = await deliver(anonymous);
  assert.match(none.reply, /^250 /);
  assert.doesNotMatch(none.delivered, /Client/);
  assert.equal(none.logged, null);
  await anonymous.quit();

  const stranger = await startTls(ports.starttlsOptional, '127.0.0.3', STRANGER);
  const unverified = await deliver(stranger);
  assert.match(unverified.reply, /^250 /);
  assert.doesNotMatch(unverified.delivered, /Client|other-client/, 'an unverified name is not written into Received:');
  assert.equal(unverified.logged?.verified, false);
  assert.equal(unverified.logged?.subject, 'CN=other-client.test');
  assert.match(String(unverified.logged?.error), /^[A-Z_]+$/);
  await stranger.quit();

  const trusted = await startTls(ports.starttlsOptional, '127.0.0.3', TRUSTED);
  const verified = await deliver(trusted);
  assert.match(verified.delivered, VERIFIED_RECEIVED);
  assert.equal(verified.logged?.verified, true);
  await trusted.quit();
});

test('Enable = false: that Listen is not bound (ECONNREFUSED) and the enabled ones serve', async () => {
  assert.deepEqual(
    daemon.daemon.listeners.map((l) => l.config.label),
    ['127.0.0.1:0', '127.0.0.2:0', '127.0.0.3:0'],
  );
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(ports.disabled, '127.0.0.4').once('connect', resolve).once('error', reject)),
    /ECONNREFUSED/,
  );
  const plain = await SmtpClient.connect(ports.starttlsOptional, '127.0.0.3');
  assert.equal((await plain.reply()).code, 220);
  await plain.quit();
});

test('a reload re-reads TLS_Client_CA and applies a new TLS_Verify_Mode to new sessions', async () => {
  // Another CA in the file: the client that verified before no longer does.
  await copyFile(fixture('tls', 'mx-b.crt'), path.join(daemon.dir, 'ca.pem'));
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  const before = await startTls(ports.starttlsOptional, '127.0.0.3', TRUSTED);
  const unverified = await deliver(before);
  assert.match(unverified.reply, /^250 /);
  assert.equal(unverified.logged?.verified, false);
  await before.quit();

  await copyFile(fixture('tls', 'client-ca.crt'), path.join(daemon.dir, 'ca.pem'));
  await writeConfig(daemon.file, conf('require'), daemon.dir);
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  const anonymous = await startTls(ports.starttlsOptional, '127.0.0.3', undefined);
  assert.equal((await anonymous.reply()).line, '421 4.7.1 no client certificate presented, closing');
  const trusted = await startTls(ports.starttlsOptional, '127.0.0.3', TRUSTED);
  assert.equal((await deliver(trusted)).logged?.verified, true);
  await trusted.quit();
});
