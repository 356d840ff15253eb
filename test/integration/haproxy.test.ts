// deploy/haproxy.cfg, as shipped, in front of two smtpipe instances on loopback: both
// deliver, HAProxy's SMTP health check passes against them, and each logs the real
// client's address (the client binds 127.0.0.5; HAProxy connects from 127.0.0.1). A
// second HAProxy runs the same file with send-proxy-v2 (the binary header) instead.
// HAProxy comes from Debian: .ci/run installs it. Outside CI a missing one skips.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { scratchDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { SmtpClient } from '../helpers/smtp-client.js';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].find(
  (file) => spawnSync(file, ['-v']).status === 0,
);
const skip = HAPROXY === undefined && process.env.CI !== 'true' ? 'haproxy is not installed (apt-get install haproxy)' : false;
const CLIENT_ADDRESS = '127.0.0.5';

const instances: TestDaemon[] = [];
interface Haproxy {
  child: ChildProcess;
  frontendPort: number;
  statsSocket: string;
}
/** The shipped file (send-proxy, v1), and the same with send-proxy-v2. */
const haproxies: { v1?: Haproxy; v2?: Haproxy } = {};

/** `show stat` over HAProxy's stats socket: one record per proxy/server line. */
async function showStat(statsSocket: string): Promise<Array<Record<string, string>>> {
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    const socket = net.connect(statsSocket, () => socket.write('show stat\n'));
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
  const [header = '', ...rows] = text.trim().split('\n');
  const names = header.replace(/^# /, '').split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i] ?? String(i), v])));
}

before(async () => {
  if (skip) return;
  assert.ok(HAPROXY, 'CI must provide haproxy: .ci/run installs it');
  for (let i = 0; i < 2; i += 1) {
    instances.push(
      await startDaemon(`
        ESMTP_Listener { Listen "127.0.0.1:0" { Proxy_Protocol = true Proxy_Hosts = ( "127.0.0.1" ) } }
        pipe_transport "t" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "lb.test" ) }
      `),
    );
  }
  haproxies.v1 = await startHaproxy(path.join(repoRoot, 'deploy', 'haproxy.cfg'));
  const v2Config = path.join(await scratchDir(), 'haproxy-v2.cfg');
  const shipped = await readFile(path.join(repoRoot, 'deploy', 'haproxy.cfg'), 'utf8');
  assert.match(shipped, /^ {4}default-server send-proxy /m);
  await writeFile(v2Config, shipped.replace(/^( {4}default-server) send-proxy /m, '$1 send-proxy-v2 '));
  haproxies.v2 = await startHaproxy(v2Config);
});

/** HAProxy on `config` in front of both instances; resolves once both pass its check. */
async function startHaproxy(config: string): Promise<Haproxy> {
  assert.ok(HAPROXY);
  const dir = await scratchDir();
  const statsSocket = path.join(dir, 'stats.sock');
  // A second file only adds the stats socket the test reads; the shipped one is unchanged.
  await writeFile(path.join(dir, 'stats.cfg'), `global\n    stats socket ${statsSocket} mode 600 level user\n`);
  const frontendPort = await freePort();
  const child = spawn(HAPROXY, ['-db', '-f', config, '-f', path.join(dir, 'stats.cfg')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      SMTPIPE_LB_BIND: `127.0.0.1:${frontendPort}`,
      SMTPIPE_1: `127.0.0.1:${instances[0]?.port}`,
      SMTPIPE_2: `127.0.0.1:${instances[1]?.port}`,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Ready once both servers passed the SMTP health check (220, QUIT, 221).
  const deadline = Date.now() + 15_000;
  for (;;) {
    const servers = await showStat(statsSocket).then(
      (rows) => rows.filter((r) => r.pxname === 'smtpipe' && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND'),
      () => [],
    );
    if (servers.length === 2 && servers.every((s) => s.status === 'UP' && s.check_status === 'L7OK')) break;
    if (Date.now() > deadline) throw new Error(`HAProxy's health checks did not pass: ${JSON.stringify(servers.map((s) => [s.svname, s.status, s.check_status, s.last_chk]))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, frontendPort, statsSocket };
}

after(async () => {
  for (const haproxy of [haproxies.v1?.child, haproxies.v2?.child]) {
    if (haproxy && haproxy.exitCode === null) {
      haproxy.kill('SIGTERM');
      await once(haproxy, 'exit');
    }
  }
  await Promise.all(instances.map((instance) => instance.stop()));
});

/** Ten sessions through `haproxy`: each must be delivered, both instances must take some. */
async function deliverThrough(haproxy: Haproxy | undefined, tag: string): Promise<void> {
  assert.ok(haproxy);
  const before = instances.map((instance) => instance.logs.filter((l) => l.msg === 'delivery').length);
  const replies: string[] = [];
  for (let i = 0; i < 10; i += 1) {
    const client = await SmtpClient.connect(haproxy.frontendPort, '127.0.0.1', CLIENT_ADDRESS);
    assert.equal((await client.reply()).code, 220);
    await client.command('EHLO client.test');
    replies.push((await client.sendMail('s@origin.test', [`${tag}${i}@lb.test`], 'via haproxy')).line);
    await client.quit();
  }
  for (const line of replies) assert.match(line, /^250 2\.0\.0 Ok: queued as /);
  const deliveries = instances.map((instance, i) => instance.logs.filter((l) => l.msg === 'delivery').slice(before[i]));
  assert.equal(deliveries[0]!.length + deliveries[1]!.length, 10);
  assert.ok(deliveries.every((list) => list.length > 0), `both instances delivered (${deliveries.map((d) => d.length).join(' + ')})`);
  for (const line of deliveries.flat()) assert.equal(line.client, CLIENT_ADDRESS);
}

test('through HAProxy: both instances deliver and log the real client address', { skip }, () => deliverThrough(haproxies.v1, 'r'));

test('through HAProxy with send-proxy-v2: the binary header passes checks and carries the client address', { skip }, async () => {
  await deliverThrough(haproxies.v2, 'v');
  const refused = instances.flatMap((instance) => instance.logs.filter((l) => l.msg === 'connection closed: invalid or missing PROXY header'));
  assert.deepEqual(refused, [], 'no header was refused, health checks included');
});
