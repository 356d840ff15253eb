// recipient_check end to end (issue 14 item 3): a program asked at RCPT, before DATA,
// through the daemon's pool; an unknown user is refused at RCPT while the other recipients
// of the same message are delivered. Real SMTP clients (ours, and python3's smtplib).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession, type Reply, type SmtpClient } from '../helpers/smtp-client.js';

const CHECK_CONCURRENCY = 2;
const MAX_RECIPIENTS = 50;
let daemon: TestDaemon;
const p = (name: string) => fixture('programs', name);
const queued = (line: string) => /queued as ([0-9A-Z]+)$/.exec(line)?.[1] as string;
const checkLog = () => path.join(daemon.dir, 'check.log');

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener { Max_Recipients_Per_Message = ${MAX_RECIPIENTS} Listen "127.0.0.1:0" { } }
    pipe_transport "args" {
      allow_root = true
      program_name = "${p('print-args.sh')} {{dir}}/\${queue_id}.args \${recipients}"
      recipient_check = "${p('check-recipient.sh')} {{dir}}/check.log \${recipient}"
      recipient_check_timeout = 1
      recipient_check_concurrency = ${CHECK_CONCURRENCY}
      code = [ 75 = "450 4.2.1 mailbox busy, try later" ]
      domain = ( "check.test" )
    }
    pipe_transport "env" {
      allow_root = true
      program_name = "${p('print-env.sh')} {{dir}}/\${queue_id}.env"
      recipient_check = "${p('check-recipient.sh')} {{dir}}/check.log \${recipient}"
      domain = ( "env.test" )
    }
    pipe_transport "plain" { allow_root = true program_name = "${p('exit-with.sh')} 0" domain = ( "plain.test" ) }
  `);
});
after(() => daemon.stop());

/** The check's "start" lines: [pid, uid, argument, $RECIPIENT, stdin bytes, time]. */
async function checkRuns(): Promise<string[][]> {
  const text = await readFile(checkLog(), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.startsWith('start ')).map((l) => l.split(' ').slice(1));
}
const runsFor = async (address: string) => (await checkRuns()).filter((r) => r[2] === address).length;

async function data(client: SmtpClient): Promise<Reply> {
  assert.equal((await client.command('DATA')).code, 354);
  client.write('Subject: s\r\n\r\nb\r\n.\r\n');
  return client.reply();
}

test('a known recipient: 250 2.1.5 at RCPT, the check saw it in argv and env, with an empty stdin', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await client.command('RCPT TO:<known@check.test>')).line, '250 2.1.5 Ok');
  assert.equal((await data(client)).code, 250);
  await client.quit();
  const run = (await checkRuns()).find((r) => r[2] === 'known@check.test');
  assert.deepEqual(run?.slice(2, 5), ['known@check.test', 'known@check.test', '0']);
});

test('unknown user: 550 5.1.1 at RCPT; the other recipient is delivered, the refused one never reaches the program', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  const refused = await client.command('RCPT TO:<nosuch@check.test>');
  assert.equal(refused.line, '550 5.1.1 recipient refused: check gave exit status 67');
  assert.equal((await client.command('RCPT TO:<billing@check.test>')).code, 250);
  const reply = await data(client);
  assert.equal(reply.code, 250);
  await client.quit();
  const args = (await readFile(path.join(daemon.dir, `${queued(reply.line)}.args`), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(args, ['billing@check.test']);
  const line = daemon.logs.find((l) => l.msg === 'recipient refused by recipient_check' && l.recipient === 'nosuch@check.test');
  assert.equal(line?.exitCode, 67);
  assert.equal(line?.reply, refused.line);
  assert.equal(line?.level, 30, 'info');
});

test('python smtplib, two recipients: the unknown one refused at RCPT, the other delivered without it in argv or env', async () => {
  const script = `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", ${daemon.port})
refused = s.sendmail("a@origin.test", ["nosuch2@env.test", "billing@env.test"], b"Subject: s\\r\\n\\r\\nbody\\r\\n")
print(repr(refused))
code, text = s.noop()
s.quit()
`;
  const out = await run('python3', ['-c', script]);
  assert.match(out, /'nosuch2@env\.test': \(550, b'5\.1\.1 recipient refused/);
  await eventually(() => daemon.logs.some((l) => l.msg === 'delivery' && l.transport === 'env'));
  const delivery = daemon.logs.find((l) => l.msg === 'delivery' && l.transport === 'env');
  const env = await readFile(path.join(daemon.dir, `${String(delivery?.queueId)}.env`), 'utf8');
  assert.ok(env.split('\0').includes('RECIPIENTS=billing@env.test'));
  assert.ok(!env.includes('nosuch2'), 'the refused recipient is nowhere in the environment');
});

test('a code entry for the check\'s exit is the RCPT reply (4xx stays 4xx)', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await client.command('RCPT TO:<tempfail@check.test>')).line, '450 4.2.1 mailbox busy, try later');
  await client.quit();
});

test('a check past recipient_check_timeout: 451 4.3.0, and its process is gone', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  const reply = await client.command('RCPT TO:<slow@check.test>');
  assert.equal(reply.line, '451 4.3.0 recipient check timed out after 1 s');
  await client.quit();
  const pid = Number(await readFile(`${checkLog()}.pid`, 'utf8'));
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
});

test('a check killed by a signal: 451 4.3.0', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await client.command('RCPT TO:<signal@check.test>')).line, '451 4.3.0 recipient check killed by signal SIGKILL');
  await client.quit();
});

test('answers are kept for the session: a repeated RCPT, in this transaction or the next, runs no second check', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  for (const rcpt of ['cached@check.test', 'nosuch-cached@check.test', 'cached@check.test', 'nosuch-cached@check.test']) await client.command(`RCPT TO:<${rcpt}>`);
  assert.equal((await client.command('RSET')).code, 250);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await client.command('RCPT TO:<Cached@check.test>')).code, 250);
  assert.equal((await client.command('RCPT TO:<nosuch-cached@check.test>')).code, 550);
  await client.quit();
  assert.equal(await runsFor('cached@check.test'), 1);
  assert.equal(await runsFor('nosuch-cached@check.test'), 1);
  // Another session asks again.
  const other = await openSession(daemon.port);
  assert.equal((await other.command('MAIL FROM:<a@origin.test>')).code, 250);
  assert.equal((await other.command('RCPT TO:<cached@check.test>')).code, 250);
  await other.quit();
  assert.equal(await runsFor('cached@check.test'), 2);
});

test('pipelined RCPTs are answered in order, each by its own check', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  const rcpts = ['hold-p1@check.test', 'nosuch-p@check.test', 'hold-p2@check.test', 'tempfail-p@check.test', 'p3@check.test'];
  client.write(rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join(''));
  const codes: number[] = [];
  for (let i = 0; i < rcpts.length; i++) codes.push((await client.reply()).code);
  assert.deepEqual(codes, [250, 550, 250, 450, 250]);
  const reply = await data(client);
  await client.quit();
  const args = (await readFile(path.join(daemon.dir, `${queued(reply.line)}.args`), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(args, ['hold-p1@check.test', 'hold-p2@check.test', 'p3@check.test']);
});

test('1,000 pipelined RCPTs: Max_Recipients_Per_Message still refuses past it, no check runs for those, the daemon still delivers', async () => {
  const client = await openSession(daemon.port);
  assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
  const rcpts = Array.from({ length: 1000 }, (_, i) => `flood${i}@check.test`);
  client.write(rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join(''));
  const codes: number[] = [];
  for (let i = 0; i < rcpts.length; i++) codes.push((await client.reply(30_000)).code);
  assert.deepEqual(codes.slice(0, MAX_RECIPIENTS), Array<number>(MAX_RECIPIENTS).fill(250));
  assert.ok(codes.slice(MAX_RECIPIENTS).every((c) => c === 452));
  assert.equal((await data(client)).code, 250);
  await client.quit();
  assert.equal((await checkRuns()).filter((r) => r[2]?.startsWith('flood')).length, MAX_RECIPIENTS);
  const plain = await openSession(daemon.port);
  assert.equal((await plain.sendMail('a@origin.test', ['x@plain.test'], 'Subject: s\r\n\r\nb')).code, 250);
  await plain.quit();
});

test(`checks of many sessions at once run at most recipient_check_concurrency (${CHECK_CONCURRENCY}) at a time, and deliveries still run`, async () => {
  const clients = await Promise.all(Array.from({ length: 8 }, () => openSession(daemon.port)));
  const replies = clients.map(async (client, i) => {
    assert.equal((await client.command('MAIL FROM:<a@origin.test>')).code, 250);
    return client.command(`RCPT TO:<hold-c${i}@check.test>`);
  });
  // A delivery of another transport meanwhile does not wait behind the checks.
  const plain = await openSession(daemon.port);
  const started = performance.now();
  assert.equal((await plain.sendMail('a@origin.test', ['y@plain.test'], 'Subject: s\r\n\r\nb')).code, 250);
  assert.ok(performance.now() - started < 1000);
  await plain.quit();
  assert.deepEqual((await Promise.all(replies)).map((r) => r.code), Array<number>(8).fill(250));
  await Promise.all(clients.map((c) => c.quit()));
  // From the start/end times the checks wrote: how many ran at once, at most.
  const text = await readFile(checkLog(), 'utf8');
  const events: Array<[number, number]> = [];
  const pids = new Set((await checkRuns()).filter((r) => r[2]?.startsWith('hold-c')).map((r) => r[0]));
  for (const line of text.split('\n')) {
    const [kind, pid, ...rest] = line.split(' ');
    if (!pids.has(pid)) continue;
    if (kind === 'start') events.push([Number(rest[4]), 1]);
    if (kind === 'end') events.push([Number(rest[0]), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of events) most = Math.max(most, (now += delta));
  assert.equal(events.length, 16);
  assert.ok(most <= CHECK_CONCURRENCY, `at most ${CHECK_CONCURRENCY} at once, saw ${most}`);
});

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}: ${out}`))));
  });
}

const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: only root may switch uid' };

describe('a recipient_check as another user', ROOT_ONLY, () => {
  let other: TestDaemon;
  let openDir: string;
  const [, , nobodyUid, nobodyGid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');

  before(async () => {
    openDir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-check-'));
    await chmod(openDir, 0o755);
    const check = path.join(openDir, 'check-recipient.sh');
    await copyFile(p('check-recipient.sh'), check);
    await chmod(check, 0o755);
    await chown(openDir, Number(nobodyUid), Number(nobodyGid));
    other = await startDaemon(`
      ESMTP_Listener { Listen "127.0.0.1:0" { } }
      pipe_transport "nobody" {
        user = "nobody" directory = "${openDir}"
        program_name = "${check} ${openDir}/delivery.log \${recipient}"
        recipient_check = "${check} ${openDir}/check.log \${recipient}"
        domain = ( "nobody.test" )
      }
    `);
  });
  after(async () => {
    await other?.stop();
    await rm(openDir, { recursive: true, force: true });
  });

  test('runs as the transport\'s user, like its deliveries', async () => {
    const client = await openSession(other.port);
    assert.equal((await client.sendMail('a@origin.test', ['someone@nobody.test'], 'Subject: s\r\n\r\nb')).code, 250);
    await client.quit();
    const start = (await readFile(path.join(openDir, 'check.log'), 'utf8')).split(' ');
    assert.equal(start[2], nobodyUid);
    assert.equal(start[3], 'someone@nobody.test');
  });
});
