// Issue 14 item 4, LMTP (RFC 2033) through real clients (a raw socket, python3's
// smtplib.LMTP): LHLO, HELO/EHLO refused, one reply per accepted RCPT after the dot in RCPT
// order, each from its own program run with its own ${recipient}, RECIPIENT and trace
// headers; recipients of two transports in one transaction; a spooled message byte-exact
// for three recipients; a refused RCPT gets no reply after the dot.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, scratchDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { dotStuff, SmtpClient, type Reply } from '../helpers/smtp-client.js';

const THRESHOLD = 4096;
const VERDICT = fixture('programs', 'lmtp-verdict.sh');
const CODES = 'code = [ 67 = "550 5.1.1 no such user here" 75 = "451 4.3.0 try again later" ]';

let d: TestDaemon;

before(async () => {
  const dir = await scratchDir();
  await mkdir(path.join(dir, 'out'));
  await mkdir(path.join(dir, 'spool'));
  d = await startDaemon(`
    Spool_Threshold = ${THRESHOLD}
    Spool_Directory = "{{dir}}/spool"
    Metrics_Listen = "127.0.0.1:0"
    LMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "mail" { allow_root = true eol = "lf" concurrency = 2 ${CODES}
      received_header = true return_path_header = true delivered_to_header = true
      program_name = "${VERDICT} {{dir}}/out/\${recipient} \${recipient}" domain = ( "mail.test" ) }
    pipe_transport "tickets" { allow_root = true eol = "lf" concurrency = 1 ${CODES}
      received_header = false return_path_header = false delivered_to_header = true
      program_name = "${VERDICT} {{dir}}/out/\${recipient} \${recipient}" domain = ( "tickets.test" ) }
    pipe_transport "held" { allow_root = true concurrency = 1
      program_name = "${fixture('programs', 'hold.sh')} {{dir}}/ready.\${recipient} {{dir}}/release" domain = ( "held.test" ) }
    pipe_transport "crlf" { allow_root = true eol = "crlf"
      program_name = "${VERDICT} {{dir}}/out/\${recipient} \${recipient}" domain = ( "crlf.test" ) }
  `, dir);
});

after(async () => {
  await d.stop();
});

async function lhlo(): Promise<SmtpClient> {
  const client = await SmtpClient.connect(d.port);
  const greeting = await client.reply();
  assert.match(greeting.line, /^220 .* LMTP/);
  assert.equal((await client.command('LHLO client.test')).code, 250);
  return client;
}

/** MAIL, each RCPT (their replies), DATA, the body: the replies after the dot, `expected` of them. */
async function transaction(client: SmtpClient, to: string[], body: string, expected: number): Promise<{ rcpt: Reply[]; data: Reply[] }> {
  assert.equal((await client.command('MAIL FROM:<s@origin.test>')).code, 250);
  const rcpt: Reply[] = [];
  for (const address of to) rcpt.push(await client.command(`RCPT TO:<${address}>`));
  assert.equal((await client.command('DATA')).code, 354);
  client.write(`${dotStuff(body)}.\r\n`);
  const data: Reply[] = [];
  for (let i = 0; i < expected; i += 1) data.push(await client.reply());
  return { rcpt, data };
}

const out = (recipient: string) => path.join(d.dir, 'out', recipient);

test('LHLO is the greeting; HELO and EHLO get 500 as smtp-server answers them', async () => {
  const client = await SmtpClient.connect(d.port);
  assert.match((await client.reply()).line, /^220 \S+ LMTP/);
  assert.equal((await client.command('EHLO client.test')).code, 500);
  assert.equal((await client.command('HELO client.test')).code, 500);
  assert.equal((await client.command('MAIL FROM:<s@origin.test>')).code, 503);
  // LHLO is smtp-server's EHLO handler, ours in front of it (connection.ts): same argument check.
  assert.equal((await client.command('LHLO $(id)')).code, 501);
  const hello = await client.command('LHLO client.test');
  assert.equal(hello.code, 250);
  for (const capability of ['PIPELINING', '8BITMIME', 'SIZE']) assert.match(hello.text, new RegExp(`^${capability}`, 'm'));
  assert.doesNotMatch(hello.text, /STARTTLS|SMTPUTF8|DSN/);
  await client.quit();
});

test('two recipients of one transport: two runs, each with its ${recipient}, RECIPIENT and trace headers', async () => {
  const client = await lhlo();
  const { rcpt, data } = await transaction(client, ['a@mail.test', 'b@mail.test'], 'Subject: two\r\n\r\nhello\r\n', 2);
  await client.quit();
  assert.deepEqual(rcpt.map((r) => r.code), [250, 250]);
  assert.deepEqual(data.map((r) => r.code), [250, 250]);
  const ids = data.map((r) => /queued as (\S+)$/.exec(r.line)?.[1]);
  assert.notEqual(ids[0], ids[1], 'each run is its own delivery');
  for (const [i, recipient] of ['a@mail.test', 'b@mail.test'].entries()) {
    const text = await readFile(out(recipient), 'utf8');
    assert.equal(await readFile(`${out(recipient)}.env`, 'utf8'), `${recipient}\n`);
    const [head, body] = text.split('\n\n');
    assert.equal(body, 'hello\n');
    assert.match(head ?? '', new RegExp(`^Return-Path: <s@origin.test>\nDelivered-To: ${recipient}\nReceived: from client.test `));
    assert.match(head ?? '', new RegExp(`with LMTP id ${ids[i]}\n\tfor <${recipient}>;`));
    assert.doesNotMatch(head ?? '', new RegExp(i === 0 ? 'b@mail.test' : 'a@mail.test'), 'no run names another recipient');
  }
});

test('mixed outcomes over two transports come back in RCPT order; a refused RCPT gets no reply after the dot', async () => {
  const client = await lhlo();
  const to = ['exit75@mail.test', 'ok@tickets.test', 'nobody@elsewhere.test', 'exit67@tickets.test', 'fine@mail.test', 'ok@tickets.test'];
  const { rcpt, data } = await transaction(client, to, 'Subject: mixed\r\n\r\nbody\r\n', 5);
  assert.deepEqual(rcpt.map((r) => r.code), [250, 250, 550, 250, 250, 250]);
  assert.deepEqual(
    data.map((r) => r.line.replace(/queued as \S+$/, 'queued as X')),
    [
      '451 4.3.0 try again later',
      '250 2.0.0 Ok: queued as X',
      '550 5.1.1 no such user here',
      '250 2.0.0 Ok: queued as X',
      // A repeated RCPT is delivered to once, and answered again with the same reply.
      data[1]?.line ?? '',
    ].map((line) => line.replace(/queued as \S+$/, 'queued as X')),
  );
  assert.equal(data[4]?.line, data[1]?.line);
  // The session goes on: the next transaction is answered as usual.
  const next = await transaction(client, ['again@mail.test'], 'Subject: again\r\n\r\nx\r\n', 1);
  assert.equal(next.data[0]?.code, 250);
  await client.quit();
  // The tickets transport writes only Delivered-To, of its own recipient.
  assert.equal(await readFile(out('ok@tickets.test'), 'utf8'), 'Delivered-To: ok@tickets.test\nSubject: mixed\n\nbody\n');
});

test('a recipient whose transport wants the other eol: 452 4.5.3 at RCPT, the others are delivered', async () => {
  const client = await lhlo();
  const { rcpt, data } = await transaction(client, ['eol@mail.test', 'x@crlf.test'], 'Subject: eol\r\n\r\nx\r\n', 1);
  await client.quit();
  assert.equal(rcpt[1]?.line, '452 4.5.3 recipient for a transport with another eol: send it in a new transaction');
  assert.equal(data[0]?.code, 250);
});

test('a spooled message (over Spool_Threshold) reaches three recipients byte-exact, each with its own header', async () => {
  const line = `${'0123456789abcdef'.repeat(4)}\r\n`;
  const body = `Subject: big\r\n\r\n.leading dot\r\n${line.repeat(Math.ceil((THRESHOLD * 3) / line.length))}`;
  const stored = body.replaceAll('\r\n', '\n');
  const to = ['big1@tickets.test', 'big2@tickets.test', 'big3@tickets.test'];
  const client = await lhlo();
  const { data } = await transaction(client, to, body, 3);
  await client.quit();
  assert.deepEqual(data.map((r) => r.code), [250, 250, 250]);
  for (const recipient of to) {
    assert.equal(await readFile(out(recipient), 'latin1'), `Delivered-To: ${recipient}\n${stored}`);
  }
});

const exists = (file: string) => access(file).then(() => true, () => false);

test('a client that leaves after its dot: its runs still waiting for a slot never start', async () => {
  const holder = await lhlo();
  await transaction(holder, ['first@held.test'], 'Subject: hold\r\n\r\nx\r\n', 0);
  await eventually(() => exists(path.join(d.dir, 'ready.first@held.test')));
  const metrics = `http://127.0.0.1:${d.daemon.metricsAddress?.port}/metrics`;
  const queued = async () => /smtpipe_pool_queue_depth (\d+)/.exec(await (await fetch(metrics)).text())?.[1];
  const leaver = await lhlo();
  await transaction(leaver, ['second@held.test', 'third@held.test'], 'Subject: leave\r\n\r\nx\r\n', 0);
  // Both runs wait behind the held one (concurrency = 1); then the client is gone.
  await eventually(async () => (await queued()) === '2');
  leaver.destroy();
  await eventually(async () => (await queued()) === '0');
  const gone = d.logs.filter((l) => l.outcome === 'client-gone').map((l) => l.recipients);
  assert.deepEqual(gone.sort(), [['second@held.test'], ['third@held.test']]);
  await writeFile(path.join(d.dir, 'release'), '');
  assert.equal((await holder.reply()).code, 250);
  await holder.quit();
  assert.equal(await exists(path.join(d.dir, 'ready.second@held.test')), false);
  assert.equal(await exists(path.join(d.dir, 'ready.third@held.test')), false);
});

const python = spawnSync('python3', ['-c', 'import smtplib'], { stdio: 'ignore' }).status === 0;

test('python3 smtplib.LMTP: LHLO, two recipients, one reply each after the dot', { skip: !python && 'no python3' }, async () => {
  // smtplib's sendmail reads one reply after DATA: an LMTP client reads the others itself.
  const script = [
    'import smtplib, sys',
    's = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))',
    'code, text = s.ehlo("client.test")',
    'assert code == 250 and s.does_esmtp and s.has_extn("pipelining"), (code, text)',
    's.mail("s@origin.test")',
    'assert s.rcpt("py1@mail.test")[0] == 250',
    'assert s.rcpt("exit67@mail.test")[0] == 250',
    'first = s.data(b"Subject: py\\r\\n\\r\\nfrom python\\r\\n")',
    'second = s.getreply()',
    'print(first[0], second[0], second[1].decode())',
    's.quit()',
  ].join('\n');
  // Asynchronous: the daemon runs in this process and must answer meanwhile.
  const child = spawn('python3', ['-c', script, String(d.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(status, 0);
  assert.equal(printed.trim(), '250 550 5.1.1 no such user here');
  assert.match(await readFile(out('py1@mail.test'), 'utf8'), /\nfrom python\n$/);
});
