// The ledger across a front-end crash and a reload (Processes = 2): every message is
// recorded exactly once. A sender sends N numbered messages, each on its own connection,
// again on any 4xx or lost connection until it gets 250; the program appends the id to a
// ledger and exits 0.
//
// Why no duplicate can happen here, by design rather than by luck: the one way to get one
// is RFC 1047's window, a program that appended and exited 0 while its front end dies
// before the 250 goes out. The program appends under a shared flock; before the kill the
// test takes the exclusive lock (no program can append from then on) and waits until every
// line in the ledger has had its 250 (lines = 250s received). The front end is killed with
// its programs blocked before appending; the primary SIGKILLs them; only then is the lock
// let go. The reload (SIGHUP) comes while traffic flows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCli } from '../helpers/cli.js';
import { sendOne } from '../helpers/cluster.js';
import { eventually } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { allProcesses } from '../helpers/processes.js';

const MESSAGES = 150;
const CONNECTIONS = 10;

const conf = `
  Processes = 2
  ESMTP_Listener { Listen "127.0.0.1:0" { } }
  pipe_transport "l" {
    allow_root = true eol = lf
    program_name = "${fixture('programs', 'ledger-gate.sh')} {{dir}}/ledger {{dir}}/lock"
    domain = ( "l.test" )
  }
`;

const ledgerLines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'latin1').split('\n').filter(Boolean) : []);

test('Processes = 2: every message exactly once across a front end killed with SIGKILL and a reload', async (t) => {
  const began = performance.now();
  const phase = (name: string) => t.diagnostic(`${name} at ${Math.round(performance.now() - began)} ms`);
  const cli = await startCli(conf);
  phase('listening');
  const ledger = path.join(cli.dir, 'ledger');
  const lock = path.join(cli.dir, 'lock');
  let acked = 0;
  let lostConnections = 0;
  let nextId = 0;
  const sender = async () => {
    for (let id = nextId++; id < MESSAGES; id = nextId++) {
      for (;;) {
        const reply = await sendOne(cli.port, `m${id}@l.test`, `X-Ledger-Id: ${id}\r\n`);
        if (reply?.code === 250) break;
        assert.ok(reply === null || reply.code < 500, `permanent failure for ${id}: ${reply?.line}`);
        if (reply === null) lostConnections += 1;
        await sleep(20);
      }
      acked += 1;
    }
  };
  try {
    const senders = Promise.all(Array.from({ length: CONNECTIONS }, sender));
    await eventually(() => acked >= MESSAGES / 3, 20_000);
    phase(`${acked} acknowledged`);

    // The gate: once `locked` exists no program can append until the holder's stdin closes.
    const locked = path.join(cli.dir, 'locked');
    const holder = spawn('flock', ['-x', lock, 'sh', '-c', ': >"$0"; read -r line', locked], { stdio: ['pipe', 'ignore', 'inherit'] });
    await eventually(() => existsSync(locked));
    await eventually(() => ledgerLines(ledger).length === acked, 10_000);
    const frontEnds = new Set((await cli.logged('listening')).frontEnds as number[]);
    // Every sender's message ends up waiting at the gate; the victim is the front end with most.
    const atGate = () => allProcesses().filter((p) => frontEnds.has(p.ppid) && p.comm === 'flock');
    await eventually(() => atGate().length === CONNECTIONS);
    const perFrontEnd = [...frontEnds].map((pid) => ({ pid, programs: atGate().filter((p) => p.ppid === pid).map((p) => p.pid) }));
    const { pid: victim, programs: blocked } = perFrontEnd.reduce((a, b) => (b.programs.length > a.programs.length ? b : a));
    process.kill(victim, 'SIGKILL');
    await cli.logged('front end exited unexpectedly: restarting it');
    // The primary kills what the dead front end's programs were.
    await eventually(() => !allProcesses().some((p) => blocked.includes(p.pid) && p.state !== 'Z'));
    await cli.logged('front end restarted', 15_000);
    phase(`killed front end ${victim} with ${blocked.length} programs at the gate`);
    holder.stdin.end();

    process.kill(cli.pid, 'SIGHUP');
    await cli.logged('configuration reloaded', 10_000);
    await senders;
    phase('all acknowledged');

    const ids = ledgerLines(ledger).map((line) => Number(line.split(' ')[0]));
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const doubled = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    const missing = Array.from({ length: MESSAGES }, (_, id) => id).filter((id) => !counts.has(id));
    assert.deepEqual({ doubled, missing }, { doubled: [], missing: [] });
    assert.equal(ids.length, MESSAGES);
    assert.ok(blocked.length > 0 && lostConnections >= blocked.length, `${blocked.length} programs killed, ${lostConnections} connections lost`);
    assert.equal(await cli.stop(), 0);
  } finally {
    await cli.stop();
  }
});
