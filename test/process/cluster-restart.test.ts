// Processes = 2: a front end killed with SIGKILL is logged and started again, the program
// it was running dies with it (its client got no reply and will send again), and mail
// flows on.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { childrenOf, sendOne } from '../helpers/cluster.js';
import { eventually } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { allProcesses, awaitDeath } from '../helpers/processes.js';

const conf = `
  Processes = 2
  Metrics_Listen = "127.0.0.1:0"
  ESMTP_Listener { Listen "127.0.0.1:0" { } }
  pipe_transport "a" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "a.test" ) }
  pipe_transport "hold" { allow_root = true program_name = "${fixture('programs', 'hold.sh')} {{dir}}/ready {{dir}}/release" domain = ( "hold.test" ) }
`;

test('Processes = 2: kill -9 of a front end: logged, restarted, its program killed, mail flows again', async () => {
  const cli = await startCli(conf);
  try {
    const frontEnds = (await cli.logged('listening')).frontEnds as number[];
    const held = sendOne(cli.port, 'x@hold.test');
    await eventually(() => existsSync(path.join(cli.dir, 'ready')));
    const program = allProcesses().find((p) => p.comm === 'hold.sh' && frontEnds.includes(p.ppid));
    assert.ok(program, 'hold.sh runs under a front end');
    const victim = program.ppid;

    process.kill(victim, 'SIGKILL');
    assert.equal(await held, null, 'its client sees the connection go, with no reply');
    const died = await cli.logged('front end exited unexpectedly: restarting it');
    assert.equal(died.pid, cli.pid);
    assert.equal(died.signal, 'SIGKILL');
    assert.equal(died.frontEnd, frontEnds.indexOf(victim));
    assert.equal(died.frontEndPid, victim);
    assert.ok(await awaitDeath(program.pid, 5_000), 'the dead front end\'s program was killed by the primary');
    // The orphan reaper names the process it killed in `pid`.
    assert.ok(cli.logs.some((l) => l.msg === 'killed a process a program left behind' && l.pid === program.pid));

    const restarted = await cli.logged('front end restarted', 15_000);
    const children = childrenOf(cli.pid);
    assert.equal(children.length, 2);
    assert.equal(restarted.pid, cli.pid);
    assert.ok(children.includes(Number(restarted.frontEndPid)) && !children.includes(victim));
    for (let i = 0; i < 10; i += 1) assert.equal((await sendOne(cli.port, `u${i}@a.test`))?.code, 250);
    const metrics = await (await fetch(`http://127.0.0.1:${cli.metricsPort}/metrics`)).text();
    assert.match(metrics, /^smtpipe_front_end_restarts_total 1$/m);
    await eventually(async () => (await fetch(`http://127.0.0.1:${cli.metricsPort}/readyz`)).status === 200);
    assert.equal(await cli.stop(), 0);
  } finally {
    await cli.stop();
  }
});
