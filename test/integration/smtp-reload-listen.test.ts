// A reload that changes Max_Message_Size and Banner_Hostname on a Listen it keeps: the
// same server (Listener.reconfigure), and new sessions see the new values. This rests on
// smtp-server reading server.options per session and per command (design review finding 9).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDaemon, writeConfig, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, SmtpClient } from '../helpers/smtp-client.js';

const conf = (banner: string, maxBytes: number) => `
  ESMTP_Listener { Listen "127.0.0.1:0" { Banner_Hostname = "${banner}"  Max_Message_Size = ${maxBytes} } }
  pipe_transport "t" {
    allow_root = true
    program_name = "${fixture('programs', 'exit-with.sh')} \${local}"
    domain = ( "x.test" )
  }
`;

let daemon: TestDaemon;
before(async () => {
  daemon = await startDaemon(conf('one.test', 1000));
});
after(() => daemon.stop());

/** The greeting and EHLO of a new session, and the replies to a 1,500- and a 2,500-byte message. */
async function newSession(): Promise<{ greeting: string; ehlo: string; mid: string; big: string }> {
  const client = await SmtpClient.connect(daemon.port);
  const greeting = (await client.reply()).line;
  const ehlo = (await client.command('EHLO client.test')).text;
  const mid = (await client.sendMail('a@x.test', ['0@x.test'], 'x'.repeat(1500))).line;
  const big = (await client.sendMail('a@x.test', ['0@x.test'], 'x'.repeat(2500))).line;
  await client.quit();
  return { greeting, ehlo, mid, big };
}

test('a kept Listen: new sessions get the reloaded Banner_Hostname and Max_Message_Size', async () => {
  const [listener] = daemon.daemon.listeners;
  const before = await newSession();
  assert.match(before.greeting, /^220 one\.test /);
  assert.match(before.ehlo, /^one\.test /);
  assert.match(before.ehlo, /^SIZE 1000$/m);
  assert.equal(before.mid, '552 5.3.4 message size limit exceeded');

  const open = await openSession(daemon.port);
  await writeConfig(daemon.file, conf('two.test', 2000), daemon.dir);
  assert.deepEqual(await daemon.daemon.reload(), { ok: true });
  assert.equal(daemon.daemon.listeners[0], listener, 'the same server, reconfigured in place');
  assert.equal(listener?.address?.port, daemon.port);

  const afterwards = await newSession();
  assert.match(afterwards.greeting, /^220 two\.test /);
  assert.match(afterwards.ehlo, /^two\.test /);
  assert.match(afterwards.ehlo, /^SIZE 2000$/m);
  assert.match(afterwards.mid, /^250 /);
  assert.equal(afterwards.big, '552 5.3.4 message size limit exceeded');
  // A session open across the reload takes the new limit from its next message on.
  assert.match((await open.sendMail('a@x.test', ['0@x.test'], 'x'.repeat(1500))).line, /^250 /);
  await open.quit();
});
