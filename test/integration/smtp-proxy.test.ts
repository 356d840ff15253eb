// Proxy_Protocol with raw PROXY v1 headers (test/integration/haproxy.test.ts does it
// through a real HAProxy): the client address of the header reaches the log line, the
// Received: line, ${client_address} and CLIENT_ADDRESS; a peer outside Proxy_Hosts and
// a trusted peer without a header are both refused.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
let trustedPort = 0;
let untrustedPort = 0;

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener {
      Proxy_Protocol = true
      Listen "127.0.0.1:0" { }
      Listen "127.0.0.2:0" { Proxy_Hosts = ( "10.0.0.0/8" "::1" ) }
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
});
after(() => daemon.stop());

async function throughProxy(client: string): Promise<SmtpClient> {
  const smtp = await SmtpClient.connect(trustedPort);
  smtp.write(`PROXY TCP4 ${client} 127.0.0.1 40000 25\r\n`);
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

test('a trusted peer that speaks SMTP without a header is cut, and never greeted', async () => {
  const smtp = await SmtpClient.connect(trustedPort);
  smtp.write('EHLO client.test\r\n');
  await smtp.closed;
  const direct = daemon.logs.filter((l) => l.msg === 'delivery' && l.client === '127.0.0.1');
  assert.equal(direct.length, 0);
});
