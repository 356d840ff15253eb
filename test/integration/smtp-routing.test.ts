// Routing and transaction rules at RCPT time, over real SMTP.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const args = fixture('programs', 'print-args.sh');

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener { Max_Recipients_Per_Message = 3  Listen "127.0.0.1:0" { } }
    pipe_transport "list" { allow_root = true program_name = "${args} {{dir}}/${'${queue_id}'}.args \${sender} \${recipients}" domain = ( "list.test" "*.lists.test" ) }
    pipe_transport "single" { allow_root = true program_name = "${args} {{dir}}/${'${queue_id}'}.args \${recipient}" domain = ( "single.test" ) }
  `);
});
after(() => daemon.stop());

const argsOf = async (line: string) => {
  const queueId = /queued as ([0-9A-Z]+)$/.exec(line)?.[1] as string;
  return (await readFile(path.join(daemon.dir, `${queueId}.args`), 'utf8')).split('\n').filter(Boolean);
};

test('a domain no transport serves: 550 5.7.1 relaying denied', async () => {
  const client = await openSession(daemon.port);
  await client.command('MAIL FROM:<a@origin.test>');
  assert.equal((await client.command('RCPT TO:<x@elsewhere.test>')).line, '550 5.7.1 relaying denied');
  assert.equal((await client.command('RCPT TO:<x@sub.list.test>')).line, '550 5.7.1 relaying denied');
  assert.equal((await client.command('RCPT TO:<x@[127.0.0.1]>')).line, '550 5.7.1 relaying denied');
  await client.quit();
});

test('${recipients} gives one argument per recipient, domains case-insensitive, wildcard', async () => {
  const client = await openSession(daemon.port);
  const reply = await client.sendMail('a@origin.test', ['one@list.test', 'two@LIST.TEST', 'three@x.lists.test'], 'hi');
  assert.equal(reply.code, 250);
  assert.deepEqual(await argsOf(reply.line), ['a@origin.test', 'one@list.test', 'two@LIST.TEST', 'three@x.lists.test']);
  await client.quit();
});

test('a recipient for another transport: 452 4.5.3, the first transaction still delivers', async () => {
  const client = await openSession(daemon.port);
  await client.command('MAIL FROM:<a@origin.test>');
  assert.equal((await client.command('RCPT TO:<one@list.test>')).code, 250);
  assert.match((await client.command('RCPT TO:<x@single.test>')).line, /^452 4\.5\.3 /);
  assert.equal((await client.command('DATA')).code, 354);
  client.write('hi\r\n.\r\n');
  const reply = await client.reply();
  assert.equal(reply.code, 250);
  assert.deepEqual(await argsOf(reply.line), ['a@origin.test', 'one@list.test']);
  await client.quit();
});

test('${recipient} in the arguments: one recipient per transaction (452 4.5.3 for the second)', async () => {
  const client = await openSession(daemon.port);
  await client.command('MAIL FROM:<a@origin.test>');
  assert.equal((await client.command('RCPT TO:<one@single.test>')).code, 250);
  assert.match((await client.command('RCPT TO:<two@single.test>')).line, /^452 4\.5\.3 /);
  assert.equal((await client.command('DATA')).code, 354);
  client.write('hi\r\n.\r\n');
  const reply = await client.reply();
  assert.deepEqual(await argsOf(reply.line), ['one@single.test']);
  await client.quit();
});

test('Max_Recipients_Per_Message: 452 4.5.3 past the limit', async () => {
  const client = await openSession(daemon.port);
  await client.command('MAIL FROM:<a@origin.test>');
  for (const n of [1, 2, 3]) assert.equal((await client.command(`RCPT TO:<r${n}@list.test>`)).code, 250);
  assert.equal((await client.command('RCPT TO:<r4@list.test>')).line, '452 4.5.3 too many recipients');
  await client.quit();
});

test('addresses beginning with "-" are refused (option injection)', async () => {
  const client = await openSession(daemon.port);
  assert.match((await client.command('MAIL FROM:<-oQ/tmp/x@origin.test>')).line, /^553 5\.1\.7 /);
  await client.command('MAIL FROM:<a@origin.test>');
  assert.match((await client.command('RCPT TO:<-f@list.test>')).line, /^553 5\.1\.3 /);
  await client.quit();
});

test('the null sender is accepted and passed as an empty argument', async () => {
  const client = await openSession(daemon.port);
  const reply = await client.sendMail('', ['x@list.test'], 'bounce');
  assert.equal(reply.code, 250);
  const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1] as string;
  assert.equal(await readFile(path.join(daemon.dir, `${queueId}.args`), 'utf8'), '\nx@list.test\n');
  await client.quit();
});

// RFC 5321 4.1.2 quoted local parts (peer-interop B3): smtp-server's own parser refused
// the first three; each reaches the program as one argument, quotes kept, and routes by
// the domain after the closing quote.
const QUOTED = ['"foo bar"@list.test', '"foo..bar"@list.test', '"x@y"@list.test', '"a\\"b"@list.test', '"<a>, b"@x.lists.test'];

test('quoted local parts are accepted and reach argv as one element each, in quoted form', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<"sender name"@origin.test>')).code, 250);
  for (const address of QUOTED.slice(0, 3)) assert.equal((await client.command(`RCPT TO:<${address}>`)).code, 250, address);
  assert.equal((await client.command('DATA')).code, 354);
  client.write('hi\r\n.\r\n');
  const reply = await client.reply();
  assert.equal(reply.code, 250);
  assert.deepEqual(await argsOf(reply.line), ['"sender name"@origin.test', ...QUOTED.slice(0, 3)]);
  // Max_Recipients_Per_Message is 3 here: the other two in a second transaction.
  const second = await client.sendMail('a@origin.test', QUOTED.slice(3), 'hi');
  assert.equal(second.code, 250);
  assert.deepEqual(await argsOf(second.line), ['a@origin.test', ...QUOTED.slice(3)]);
  await client.quit();
});

test('a quoted local part with a per-recipient macro: ${recipient} is the quoted address', async () => {
  const client = await openSession(daemon.port);
  const reply = await client.sendMail('a@origin.test', ['"x@y"@single.test'], 'hi');
  assert.equal(reply.code, 250);
  assert.deepEqual(await argsOf(reply.line), ['"x@y"@single.test']);
  await client.quit();
});
