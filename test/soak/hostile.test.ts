// The hostile-client soak (issue 11): slowloris, RCPT floods, pre-TLS floods and PROXY
// garbage run at once against the built CLI (under ulimit -n 256) while good clients send
// 1,000 messages, in four rounds. Checked: every good message got exactly one 250 and ran
// exactly once; descriptors return to the baseline after every round and RSS stays flat
// from round to round. Bounded (about 40 s), loopback only, behind `npm run test:soak`
// (not in `npm test`: it loads both CPUs the whole time).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { scratchDir } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { dotStuff, SmtpClient, type Reply } from '../helpers/smtp-client.js';

const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');
const MESSAGES = 1000;
const ROUNDS = 4;
/** Attackers run at least this long per round (Idle_Time is 2 s). */
const MIN_ROUND_MS = 8000;
const GOOD_CONNECTIONS = 10;
const GOOD_CLIENT = '127.0.0.2';
/** Each attacker works from its own address, as a botnet's hosts would. */
const ATTACKERS = { slowloris: '127.0.0.10', rcptFlood: '127.0.0.11', preTls: '127.0.0.12', proxyGarbage: '127.0.0.13' };
const REPLY_TIMEOUT_MS = 20_000;
const OPEN_FILES = 256;
/** The good clients give up after this long: a daemon that cannot serve them fails, not hangs. */
const GOOD_DEADLINE_MS = 90_000;

/** RSS in kB and open descriptors of a process, from /proc. */
function usage(pid: number): { rssKb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
}

function connectFrom(port: number, localAddress: string): net.Socket {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  return socket;
}

/** Keeps `count` sockets open that each do `act`, replacing every one the daemon closes, until `stop`. */
function attacker(count: number, open: () => net.Socket, stop: AbortSignal): { opened: number; closedByDaemon: number } {
  const stats = { opened: 0, closedByDaemon: 0 };
  const one = () => {
    if (stop.aborted) return;
    const socket = open();
    stats.opened += 1;
    socket.once('close', () => {
      if (stop.aborted) return;
      stats.closedByDaemon += 1;
      setTimeout(one, 50);
    });
    stop.addEventListener('abort', () => socket.destroy(), { once: true });
  };
  for (let i = 0; i < count; i++) one();
  return stats;
}

/** One byte of an unfinished command every 300 ms: a trickle must not renew Idle_Time. */
function slowloris(port: number): net.Socket {
  const socket = connectFrom(port, ATTACKERS.slowloris);
  const line = 'EHLO slow.test\r\nMAIL FROM:<a@slow.test>\r\nRCPT TO:<' + 'a'.repeat(200);
  let sent = 32;
  socket.once('connect', () => socket.write(line.slice(0, sent)));
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(line[sent++ % line.length] as string);
  }, 300);
  socket.once('close', () => clearInterval(timer));
  return socket;
}

/** Thousands of pipelined RCPT of a few repeated addresses, never DATA. */
function rcptFlood(port: number): net.Socket {
  const socket = connectFrom(port, ATTACKERS.rcptFlood);
  socket.on('data', () => {});
  socket.once('connect', () => {
    const rcpts = Array.from({ length: 3000 }, (_, i) => `RCPT TO:<user${i % 3}@ledger.test>\r\n`).join('');
    socket.write(`EHLO flood.test\r\nMAIL FROM:<f@flood.test>\r\n${rcpts}`);
  });
  return socket;
}

/** A TCP connection to the implicit-TLS Listen that never sends a ClientHello. */
function preTls(port: number): net.Socket {
  return connectFrom(port, ATTACKERS.preTls);
}

/** Garbage where a PROXY header belongs, in varied shapes. */
function proxyGarbage(port: number, index: () => number): net.Socket {
  const shapes = [
    'PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n',
    'PROXY TCP4 10.0.0.1 127.0.0.1 70000 25\r\n',
    'PROXY TCP6 10.0.0.1 ::1 1 2\r\n',
    'GET / HTTP/1.1\r\n\r\n',
    '\r\n\r\n\0\r\nQUIT\nx',
    'PROXY ' + 'A'.repeat(300),
  ];
  const socket = connectFrom(port, ATTACKERS.proxyGarbage);
  socket.on('data', () => {});
  socket.once('connect', () => socket.write(shapes[index() % shapes.length] as string));
  return socket;
}

type Usage = ReturnType<typeof usage>;

/** Starts every attacker, sends `ids` through the good clients, stops the attackers, measures. */
async function attackRound(
  pid: number,
  ports: { plain: number; tls: number; proxied: number },
  ids: string[],
  accepted: Map<string, number>,
  tally: Record<string, number>,
) {
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  let proxyShape = 0;
  const attacks = {
    slowloris: attacker(100, () => slowloris(ports.plain), stop.signal),
    rcptFlood: attacker(5, () => rcptFlood(ports.plain), stop.signal),
    preTls: attacker(300, () => preTls(ports.tls), stop.signal),
    proxyGarbage: attacker(20, () => proxyGarbage(ports.proxied, () => proxyShape++), stop.signal),
  };
  let peak = usage(pid);
  const sampler = setInterval(() => {
    const now = usage(pid);
    peak = { rssKb: Math.max(peak.rssKb, now.rssKb), fds: Math.max(peak.fds, now.fds) };
  }, 250);
  const startedAt = performance.now();
  const queue = [...ids];
  await Promise.all(Array.from({ length: GOOD_CONNECTIONS }, () => goodClient(ports.plain, queue, accepted, tally)));
  const seconds = Math.round((performance.now() - startedAt) / 100) / 10;
  // Long enough for several Idle_Time cuts of the slow clients, however fast the good ones were.
  await sleep(Math.max(0, startedAt + MIN_ROUND_MS - performance.now()));
  stop.abort();
  clearInterval(sampler);
  // Closes in flight settle; the attackers' sockets are gone.
  await sleep(1500);
  return { seconds, attacks, peak, after: usage(pid) };
}

type Outcome = 'delivered' | 'retry' | 'reconnect';

async function sendOne(client: SmtpClient, id: string): Promise<Outcome> {
  const race = (p: Promise<Reply>) => Promise.race([p, client.closed.then(() => null)]);
  for (const line of ['MAIL FROM:<ledger@origin.test>', `RCPT TO:<${id}@ledger.test>`, 'DATA']) {
    client.write(`${line}\r\n`);
    const reply = await race(client.reply(REPLY_TIMEOUT_MS));
    if (reply === null || reply.code === 421) return 'reconnect';
    if (reply.code !== (line === 'DATA' ? 354 : 250)) {
      client.write('RSET\r\n');
      await race(client.reply(REPLY_TIMEOUT_MS));
      return 'retry';
    }
  }
  const body = `X-Ledger-Id: ${id}\r\nX-Ledger-Attempt: 1\r\nX-Ledger-Action: 0\r\n\r\nsoak ${id}\r\n`;
  client.write(`${dotStuff(body)}.\r\n`);
  const reply = await race(client.reply(REPLY_TIMEOUT_MS));
  if (reply === null) return 'reconnect';
  return reply.code === 250 ? 'delivered' : reply.code === 421 ? 'reconnect' : 'retry';
}

/** A good client: one connection at a time, reconnecting and resending like an MTA. */
async function goodClient(port: number, queue: string[], accepted: Map<string, number>, tally: Record<string, number>): Promise<void> {
  let client: SmtpClient | null = null;
  const deadline = performance.now() + GOOD_DEADLINE_MS;
  while (performance.now() < deadline) {
    const id = queue.shift();
    if (id === undefined) break;
    if (client === null) {
      try {
        const candidate = await SmtpClient.connect(port, '127.0.0.1', GOOD_CLIENT);
        const greeting = await Promise.race([candidate.reply(REPLY_TIMEOUT_MS), candidate.closed.then(() => null)]);
        const ehlo = greeting?.code === 220 ? await candidate.command('EHLO good.client.test') : null;
        if (ehlo?.code !== 250) throw new Error(`refused: ${greeting?.line ?? 'closed'}`);
        client = candidate;
      } catch {
        tally['refusedSessions'] = (tally['refusedSessions'] ?? 0) + 1;
        queue.unshift(id);
        await sleep(100);
        continue;
      }
    }
    const outcome = await sendOne(client, id);
    tally[outcome] = (tally[outcome] ?? 0) + 1;
    if (outcome === 'delivered') accepted.set(id, (accepted.get(id) ?? 0) + 1);
    else queue.push(id);
    if (outcome === 'reconnect') {
      client.destroy();
      client = null;
    }
  }
  client?.destroy();
}

test('hostile soak: 1,000 good messages exactly once under slowloris, RCPT floods, pre-TLS floods and PROXY garbage', async (t) => {
  const dir = await scratchDir();
  const ledgerFile = path.join(dir, 'ledger');
  await writeFile(ledgerFile, '');
  const [plain, tls, proxied] = [await freePort(), await freePort(), await freePort()];
  const configFile = path.join(dir, 'smtpipe.conf');
  await writeFile(
    configFile,
    `
    ESMTP_Listener {
      Idle_Time = 2
      Listener_Sessions = 100
      Max_Sessions_Per_Client = 20
      Max_Recipients_Per_Message = 100
      TLS_Certificate = "${fixture('tls', 'mx-a.crt')}"
      TLS_Key = "${fixture('tls', 'mx-a.key')}"
      Listen "127.0.0.1:${plain}" { }
      Listen "127.0.0.1:${tls}" { Use_SSL = true }
      Listen "127.0.0.1:${proxied}" { Proxy_Protocol = true Proxy_Hosts = ( "127.0.0.0/8" ) }
    }
    pipe_transport "ledger" {
      allow_root = true
      program_name = "${fixture('programs', 'ledger.sh')} ${ledgerFile}"
      domain = ( "ledger.test" )
      timeout = 10
      concurrency = 16
      received_header = false
    }
  `,
  );
  // A small descriptor limit, so that sockets the daemon failed to count would show.
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${OPEN_FILES} && exec "$0" "$@"`, process.execPath, CLI, '-c', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const listening = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['msg'] === 'listening') resolve();
    });
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code} before listening`)));
  });
  t.after(() => child.kill('SIGKILL'));
  await listening;
  const pid = child.pid as number;

  // Warm-up: a few good messages, so the baseline includes loaded workers and programs.
  const warm = new Map<string, number>();
  await goodClient(plain, ['W0', 'W1', 'W2', 'W3', 'W4'], warm, {});
  await sleep(500);
  const before = usage(pid);

  // Four rounds of attack + 250 good messages each: the first round grows the heap into
  // its working band; flat means the later rounds add (almost) nothing to it.
  const accepted = new Map<string, number>();
  const tally: Record<string, number> = {};
  const rounds: Array<{ seconds: number; attacks: Record<string, ReturnType<typeof attacker>>; peak: Usage; after: Usage }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ids = Array.from({ length: MESSAGES / ROUNDS }, (_, i) => `S${round}-${String(i).padStart(4, '0')}`);
    rounds.push(await attackRound(pid, { plain, tls, proxied }, ids, accepted, tally));
  }

  const runs = new Map<string, number>();
  for (const line of (await readFile(ledgerFile, 'utf8')).split('\n')) {
    const id = line.split(' ')[0];
    if (id?.startsWith('S')) runs.set(id, (runs.get(id) ?? 0) + 1);
  }
  t.diagnostic(`good clients: ${MESSAGES} messages; outcomes ${JSON.stringify(tally)}; daemon before ${JSON.stringify(before)}`);
  for (const [index, round] of rounds.entries()) t.diagnostic(`round ${index + 1}: ${JSON.stringify(round)}`);
  const [first, last] = [rounds[0] as (typeof rounds)[number], rounds.at(-1) as (typeof rounds)[number]];

  assert.equal(child.exitCode, null, 'the daemon is still running');
  assert.equal(accepted.size, MESSAGES, 'every good message got a 250');
  assert.deepEqual([...accepted.values()].filter((n) => n !== 1), [], 'no good message got two 250s');
  assert.deepEqual([...runs.entries()].filter(([, n]) => n !== 1), [], 'every good message ran exactly once');
  assert.equal(runs.size, MESSAGES);
  // The daemon cut the slow and the garbage, not the test: sockets were replaced.
  for (const { attacks } of rounds) {
    assert.ok((attacks['slowloris']?.closedByDaemon ?? 0) > 0, 'slowloris sessions were cut');
    assert.ok((attacks['proxyGarbage']?.closedByDaemon ?? 0) > 0, 'PROXY garbage was closed');
  }
  assert.equal(logs.filter((l) => Number(l['level']) >= 50).length, 0, 'no error-level log line');
  // Flat: descriptors back to the baseline after every round (slack for closes in flight),
  // never at the limit; the last round's RSS within 16 MB of the first's.
  for (const round of rounds) {
    assert.ok(round.after.fds <= before.fds + 8, `descriptors back to ${before.fds} (now ${round.after.fds})`);
    assert.ok(round.peak.fds < OPEN_FILES, `descriptors stayed under the limit (peak ${round.peak.fds})`);
  }
  const growthMb = (last.after.rssKb - first.after.rssKb) / 1024;
  assert.ok(growthMb < 16, `RSS grew ${growthMb.toFixed(1)} MB from round 1 to round ${ROUNDS}`);
  assert.ok(!logs.some((l) => String(l['msg']).includes('BAD')), 'no IMAP-style BAD');
  child.kill('SIGTERM');
  await once(child, 'exit');
});
