// Recipient limits count what they limit (issue 11 item 2): every RCPT command counts, a
// repeated address reaches the program once, and an argv+env the kernel would refuse is
// refused at RCPT (452), never a "configuration fault" after DATA.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, type Reply, type SmtpClient } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const p = (name: string) => fixture('programs', name);
const queued = (line: string) => /queued as ([0-9A-Z]+)$/.exec(line)?.[1] as string;

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    ESMTP_Listener { Max_Recipients_Per_Message = 1000  Listen "127.0.0.1:0" { } }
    pipe_transport "args" {
      allow_root = true delivered_to_header = true
      program_name = "${p('print-args.sh')} {{dir}}/\${queue_id}.args \${recipients}"
      domain = ( "args.test" "*.big.test" )
    }
    pipe_transport "env" { allow_root = true program_name = "${p('print-env.sh')} {{dir}}/\${queue_id}.env" domain = ( "env.test" ) }
    pipe_transport "copy" {
      allow_root = true delivered_to_header = true received_header = false
      program_name = "${p('cat-to-file.sh')} {{dir}}/\${queue_id}.eml"
      domain = ( "copy.test" )
    }
  `);
});
after(() => daemon.stop());

/** The port of the second listener (Max_Recipients_Per_Message = 1000). */
const widePort = () => daemon.daemon.listeners[1]?.address?.port as number;

/** MAIL, then every RCPT pipelined in one write; the replies in order. */
async function pipelineRcpts(client: SmtpClient, recipients: string[]): Promise<Reply[]> {
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  client.write(recipients.map((r) => `RCPT TO:<${r}>\r\n`).join(''));
  const replies: Reply[] = [];
  for (let i = 0; i < recipients.length; i++) replies.push(await client.reply());
  return replies;
}

async function data(client: SmtpClient, body = 'Subject: s\r\n\r\nb'): Promise<Reply> {
  assert.equal((await client.command('DATA')).code, 354);
  client.write(`${body}\r\n.\r\n`);
  return client.reply();
}

const REPEATS = ['Victim@DOMAIN', 'victim@DOMAIN', 'VICTIM@domain', 'Victim@DOMAIN'];

test('one address sent four times in different case reaches argv once, acknowledged each time', async () => {
  const client = await openSession(daemon.port);
  const replies = await pipelineRcpts(client, REPEATS.map((r) => r.replace('DOMAIN', 'args.test').replace('domain', 'ARGS.TEST')));
  assert.deepEqual(replies.map((r) => r.code), [250, 250, 250, 250]);
  const reply = await data(client);
  assert.equal(reply.code, 250);
  await client.quit();
  const args = (await readFile(path.join(daemon.dir, `${queued(reply.line)}.args`), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(args, ['Victim@args.test'], 'the first form, once');
});

test('one address sent four times reaches RECIPIENTS once', async () => {
  const client = await openSession(daemon.port);
  await pipelineRcpts(client, REPEATS.map((r) => r.replace('DOMAIN', 'env.test').replace('domain', 'ENV.TEST')));
  const reply = await data(client);
  assert.equal(reply.code, 250);
  await client.quit();
  const raw = await readFile(path.join(daemon.dir, `${queued(reply.line)}.env`), 'utf8');
  const recipients = raw.split('\0').find((kv) => kv.startsWith('RECIPIENTS='));
  assert.equal(recipients, 'RECIPIENTS=Victim@env.test');
});

test('one address sent four times gets one Delivered-To line', async () => {
  const client = await openSession(daemon.port);
  await pipelineRcpts(client, [...REPEATS.map((r) => r.replace('DOMAIN', 'copy.test').replace('domain', 'COPY.TEST')), 'other@copy.test']);
  const reply = await data(client);
  assert.equal(reply.code, 250);
  await client.quit();
  const stored = await readFile(path.join(daemon.dir, `${queued(reply.line)}.eml`), 'utf8');
  assert.deepEqual(stored.match(/^Delivered-To: .*$/gm), ['Delivered-To: Victim@copy.test', 'Delivered-To: other@copy.test']);
});

test('Max_Recipients_Per_Message counts every RCPT: the 101st gets 452 4.5.3 though most were repeats', async () => {
  const client = await openSession(daemon.port);
  const recipients = Array.from({ length: 101 }, (_, i) => `user${i % 3}@args.test`);
  // A refused RCPT counts too.
  recipients[50] = 'x@elsewhere.test';
  const replies = await pipelineRcpts(client, recipients);
  assert.equal(replies[50]?.line, '550 5.7.1 relaying denied');
  assert.deepEqual(replies.slice(0, 100).filter((_, i) => i !== 50).map((r) => r.code), Array<number>(99).fill(250));
  assert.equal(replies[100]?.line, '452 4.5.3 too many recipients');
  const reply = await data(client);
  assert.equal(reply.code, 250);
  await client.quit();
  const args = (await readFile(path.join(daemon.dir, `${queued(reply.line)}.args`), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(args, ['user0@args.test', 'user1@args.test', 'user2@args.test']);
});

test('5,000 pipelined RCPT of two addresses: 100 acknowledged, the rest 452, the program gets two', async () => {
  const client = await openSession(daemon.port);
  const replies = await pipelineRcpts(client, Array.from({ length: 5000 }, (_, i) => `user${i % 2}@args.test`));
  assert.deepEqual(replies.slice(0, 100).map((r) => r.code), Array<number>(100).fill(250));
  assert.ok(replies.slice(100).every((r) => r.line === '452 4.5.3 too many recipients'), 'every RCPT past the limit gets 452');
  const reply = await data(client);
  assert.equal(reply.code, 250);
  // A new transaction starts counting afresh.
  assert.deepEqual((await pipelineRcpts(client, ['user0@args.test'])).map((r) => r.code), [250]);
  await client.quit();
  const stored = (await readFile(path.join(daemon.dir, `${queued(reply.line)}.args`), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(stored, ['user0@args.test', 'user1@args.test']);
});

test('600 recipients of 249 octets: past the kernel argv+env limit each gets 452 at RCPT; DATA delivers; no error logged', async () => {
  // local part 64 octets, domain 184: 249 octets, well-formed and routed by *.big.test.
  const domain = `${'d'.repeat(61)}.${'e'.repeat(61)}.${'f'.repeat(51)}.big.test`;
  const recipients = Array.from({ length: 600 }, (_, i) => `${String(i).padStart(5, '0')}${'x'.repeat(59)}@${domain}`);
  assert.equal(recipients[0]?.length, 249);
  const logged = daemon.logs.length;
  const client = await openSession(widePort());
  const replies = await pipelineRcpts(client, recipients);
  const accepted = replies.findIndex((r) => r.code !== 250);
  assert.ok(accepted > 100 && accepted < 600, `${accepted} accepted`);
  assert.ok(
    replies.slice(accepted).every((r) => r.line === '452 4.5.3 too many recipients for one program run: send the rest in a new transaction'),
    replies[accepted]?.line,
  );
  const reply = await data(client);
  assert.equal(reply.code, 250, reply.line);
  await client.quit();
  const args = (await readFile(path.join(daemon.dir, `${queued(reply.line)}.args`), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(args, recipients.slice(0, accepted));
  const lines = daemon.logs.slice(logged);
  assert.deepEqual(lines.filter((line) => (line.level as number) >= 50), []);
  // The delivery line names ten recipients and counts them all.
  const delivery = lines.find((line) => line.queueId === queued(reply.line));
  assert.deepEqual(delivery?.recipients, recipients.slice(0, 10));
  assert.equal(delivery?.recipientCount, accepted);
});
