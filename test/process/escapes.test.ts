// Escaped descendants die (issue 11 item 7; security review finding 14). A program leaves
// behind a loop writing to output_file: out of its process group (setsid), orphaned in it
// (double fork), or both (daemonize). The client gets 250; the loop is not killed while
// its own delivery runs, and once that has ended it is SIGKILLed and reaped by the daemon
// (a child subreaper, orphan-reaper.ts) within the documented time: no process, no zombie,
// output_file no longer growing. Against the built CLI, which is where the daemon becomes
// a subreaper.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SWEEP_INTERVAL_MS } from '../../src/ops/orphan-reaper.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { allProcesses } from '../helpers/processes.js';
import { scratchDir } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { procStat } from '../helpers/processes.js';
import { openSession } from '../helpers/smtp-client.js';

const MODES = ['setsid', 'double-fork', 'daemonize'] as const;

/**
 * The promise of docs/security.md, with no other delivery running: SIGKILL at most two
 * sweeps after the delivery ended (the first may still count the run as running), the
 * reap one sweep later. Plus 400 ms for a busy test machine.
 */
const GONE_WITHIN_MS = 3 * SWEEP_INTERVAL_MS + 400;

describe('processes a program leaves behind are killed and reaped once its delivery has ended', () => {
  let cli: RunningCli;
  let dir: string;
  before(async () => {
    dir = await scratchDir();
    const transports = MODES.map(
      (mode) => `pipe_transport "${mode}" {
        allow_root = true timeout = 10
        program_name = "${fixture('programs', 'escape-loop.sh')} ${mode} {{dir}}/${mode}.pid 0.5"
        domain = ( "${mode}.test" ) output_file = "{{dir}}/${mode}.out"
      }`,
    );
    transports.push(`pipe_transport "relay" {
      allow_root = true timeout = 10
      program_name = "${fixture('programs', 'escape-relay.sh')} start {{dir}}/relay.pids"
      domain = ( "relay.test" ) output_file = "{{dir}}/relay.out"
    }`);
    cli = await startCli(`ESMTP_Listener { Listen "127.0.0.1:0" { } }\n${transports.join('\n')}`, { dir });
  });
  after(async () => {
    // Whatever the outcome, leave no loop running.
    for (const mode of MODES) {
      try {
        process.kill(Number(readFileSync(path.join(dir, `${mode}.pid`), 'latin1')), 'SIGKILL');
      } catch {
        // Handled: gone already (the expected case), or never started.
      }
    }
    for (const pid of relayPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Handled: gone already (the expected case).
      }
    }
    await cli?.stop();
  });

  for (const mode of MODES) {
    test(`${mode}: 250, alive while its delivery runs, then gone within ${GONE_WITHIN_MS} ms; output_file stops growing`, async (t) => {
      const client = await openSession(cli.port);
      const reply = await client.sendMail('a@origin.test', [`x@${mode}.test`], 'Subject: escape\r\n\r\nhi\r\n');
      const repliedAt = performance.now();
      await client.quit();
      assert.equal(reply.code, 250, reply.line);
      const loop = Number(readFileSync(path.join(dir, `${mode}.pid`), 'latin1'));
      assert.ok(loop > 0);

      // Gone = no /proc entry: killed and reaped (a zombie still has one).
      while (procStat(loop) !== null && performance.now() - repliedAt < GONE_WITHIN_MS) await sleep(10);
      const goneAfterMs = Math.round(performance.now() - repliedAt);
      t.diagnostic(`loop ${loop} gone ${goneAfterMs} ms after the reply`);
      assert.equal(procStat(loop), null, `loop ${loop} still there (${JSON.stringify(procStat(loop))}) ${goneAfterMs} ms after the reply`);

      const out = path.join(dir, `${mode}.out`);
      const text = readFileSync(out, 'latin1');
      assert.match(text, /^tick$/m);
      assert.match(text, /^loop alive at exit$/m, 'the loop must live as long as its own delivery');
      const size = statSync(out).size;
      await sleep(3 * SWEEP_INTERVAL_MS);
      assert.equal(statSync(out).size, size, 'output_file still growing');
      const zombies = allProcesses().filter((p) => p.ppid === cli.pid && p.state === 'Z');
      assert.deepEqual(zombies, [], 'zombie children of the daemon');
    });
  }

  test(`a relay (each generation in its own session forks the next when its parent dies): the whole chain is gone within ${GONE_WITHIN_MS} ms`, async (t) => {
    const client = await openSession(cli.port);
    const reply = await client.sendMail('a@origin.test', ['x@relay.test'], 'Subject: relay\r\n\r\nhi\r\n');
    const repliedAt = performance.now();
    await client.quit();
    assert.equal(reply.code, 250, reply.line);
    const alive = () => relayPids(dir).filter((pid) => procStat(pid) !== null);
    while (alive().length > 0 && performance.now() - repliedAt < GONE_WITHIN_MS) await sleep(10);
    const generations = relayPids(dir).length;
    t.diagnostic(`${generations} generations started; none left ${Math.round(performance.now() - repliedAt)} ms after the reply`);
    assert.deepEqual(alive(), [], `generations still running ${GONE_WITHIN_MS} ms after the reply`);
    const size = statSync(path.join(dir, 'relay.out')).size;
    await sleep(3 * SWEEP_INTERVAL_MS);
    assert.equal(relayPids(dir).length, generations, 'no new generation after the kill');
    assert.equal(statSync(path.join(dir, 'relay.out')).size, size, 'output_file still growing');
  });

  test('the kills of escaped loops are logged, with their pids', () => {
    const killed = cli.logs.filter((l) => l.msg === 'killed a process a program left behind').map((l) => Number(l.pid));
    // The double-forked loop stayed in the group: the group kill at the program's exit ended it.
    for (const mode of ['setsid', 'daemonize']) {
      assert.ok(killed.includes(Number(readFileSync(path.join(dir, `${mode}.pid`), 'latin1'))), `${mode}: ${JSON.stringify(killed)}`);
    }
  });
});

/** Every generation escape-relay.sh started, from the file each appends its pid to. */
function relayPids(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'relay.pids'), 'latin1').split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // Handled: no generation started yet.
  }
}
