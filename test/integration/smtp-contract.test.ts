// The program contract seen from inside real programs: environment, argv, files,
// output floods and a grandchild that holds the pipes open.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

let daemon: TestDaemon;
const p = (name: string) => fixture('programs', name);

before(async () => {
  daemon = await startDaemon(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "env" {
      allow_root = true
      program_name = "${p('print-env.sh')} {{dir}}/env"
      domain = ( "env.test" )
      env = [ API_TOKEN = "s3cret" ]
    }
    pipe_transport "files" {
      allow_root = true
      program_name = "${p('write-out-err.sh')} to-stdout to-stderr"
      domain = ( "files.test" )
      output_file = "{{dir}}/out.log"
      error_file = "{{dir}}/err.log"
      output_mode = 0640
    }
    pipe_transport "flood" {
      allow_root = true
      program_name = "${p('flood.sh')}"
      domain = ( "flood.test" )
      output_file = "{{dir}}/flood.out"
      error_file = "{{dir}}/flood.err"
    }
    pipe_transport "discard" { allow_root = true program_name = "${p('flood.sh')} 20000000" domain = ( "discard.test" ) }
    pipe_transport "grandchild" { allow_root = true program_name = "${p('grandchild.sh')} {{dir}}/grandchild.pid 30" domain = ( "grandchild.test" ) }
    pipe_transport "fds" { allow_root = true program_name = "${p('list-fds.sh')} {{dir}}/fds" domain = ( "fds.test" ) }
  `);
});
after(() => daemon.stop());

async function deliver(to: string[], body = 'hi') {
  const client = await openSession(daemon.port, 'helo.client.test');
  try {
    return await client.sendMail('sender@origin.test', to, body);
  } finally {
    await client.quit();
  }
}

test('environment: the contract variables, env entries, PATH; nothing of the daemon', async () => {
  process.env.SMTPIPE_TEST_LEAK = 'leaked';
  const reply = await deliver(['Bob@env.test', 'carol@env.test']);
  assert.equal(reply.code, 250);
  const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1];
  const raw = await readFile(path.join(daemon.dir, 'env'), 'utf8');
  const env = Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  assert.deepEqual(env, {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    API_TOKEN: 's3cret',
    SENDER: 'sender@origin.test',
    RECIPIENT: 'Bob@env.test',
    RECIPIENTS: 'Bob@env.test\ncarol@env.test',
    DOMAIN: 'env.test',
    LOCAL: 'Bob',
    QUEUE_ID: queueId,
    CLIENT_ADDRESS: '127.0.0.1',
    CLIENT_HELO: 'helo.client.test',
    SIZE: '4',
    TRANSPORT: 'env',
    // No AUTH in this session: the variable is there, empty (as ${auth_user}).
    AUTH_USER: '',
  });
});

test('output_file and error_file get stdout and stderr, appended, created with the mode', async () => {
  assert.equal((await deliver(['x@files.test'])).code, 250);
  assert.equal((await deliver(['y@files.test'])).code, 250);
  assert.equal(await readFile(path.join(daemon.dir, 'out.log'), 'utf8'), 'to-stdout\nto-stdout\n');
  assert.equal(await readFile(path.join(daemon.dir, 'err.log'), 'utf8'), 'to-stderr\nto-stderr\n');
  assert.equal((await stat(path.join(daemon.dir, 'out.log'))).mode & 0o777, 0o640);
  assert.equal((await stat(path.join(daemon.dir, 'err.log'))).mode & 0o777, 0o600);
});

test('a program flooding 100 MB to each of stdout and stderr completes; our memory stays flat', async () => {
  const rssBefore = process.memoryUsage().rss;
  assert.equal((await deliver(['x@flood.test'])).code, 250);
  assert.equal((await stat(path.join(daemon.dir, 'flood.out'))).size, 104857600);
  assert.equal((await stat(path.join(daemon.dir, 'flood.err'))).size, 104857600);
  assert.equal((await deliver(['x@discard.test'])).code, 250);
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 50 * 1024 * 1024, `rss grew ${(grown / 1048576).toFixed(1)} MB`);
});

test('a grandchild holding the pipes open: the reply comes at once and the grandchild is killed', async () => {
  const started = performance.now();
  assert.equal((await deliver(['x@grandchild.test'])).code, 250);
  assert.ok(performance.now() - started < 5000, 'reply did not wait for the 30 s grandchild');
  const pid = Number((await readFile(path.join(daemon.dir, 'grandchild.pid'), 'utf8')).trim());
  await eventually(() => !isAlive(pid));
});

test('the program sees only fds 0, 1 and 2', async () => {
  assert.equal((await deliver(['x@fds.test'])).code, 250);
  const listing = await readFile(path.join(daemon.dir, 'fds'), 'utf8');
  const fds = [...listing.matchAll(/ (\d+) -> (.*)$/gm)].filter((m) => !/^\/proc\/\d+\/fd$/.test(m[2] ?? '')).map((m) => Number(m[1]));
  assert.deepEqual(fds, [0, 1, 2], listing);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
