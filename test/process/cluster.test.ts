// Processes = 2 through the real CLI: one primary and two front ends that operators see as
// one daemon: mail through both front ends, one /metrics with their counters summed, a
// SIGHUP that both apply, a SIGTERM that drains both (the message in flight gets its 250).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { childrenOf, deliveringPids, sendOne } from '../helpers/cluster.js';
import { eventually, writeConfig } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';

const transport = (name: string, program: string) =>
  `pipe_transport "${name}" { allow_root = true program_name = "${program}" domain = ( "${name}.test" ) }`;
const conf = (extra: string) => `
  Processes = 2
  Metrics_Listen = "127.0.0.1:0"
  ESMTP_Listener { Listen "127.0.0.1:0" { } }
  ${transport('a', `${fixture('programs', 'exit-with.sh')} 0`)}
  ${transport('hold', `${fixture('programs', 'hold.sh')} {{dir}}/ready {{dir}}/release`)}
  ${extra}
`;

/** Sends batches of concurrent messages to `transport` until both front ends delivered some; returns how many. */
async function sendUntilBothServe(cli: RunningCli, name: string): Promise<number> {
  let sent = 0;
  while (deliveringPids(cli, name).size < 2) {
    assert.ok(sent < 400, `400 messages all went to one front end: ${[...deliveringPids(cli, name)].join(' ')}`);
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => sendOne(cli.port, `u${sent + i}@${name}.test`)));
    for (const reply of replies) assert.equal(reply?.code, 250, reply?.line);
    sent += replies.length;
    await eventually(() => cli.logs.filter((l) => l.msg === 'delivery' && l.transport === name).length === sent);
  }
  return sent;
}

async function scrape(cli: RunningCli, route: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${cli.metricsPort}${route}`);
  return { status: response.status, text: await response.text() };
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no ${series} in /metrics`);
  return Number(line.split(' ')[1]);
}

test('Processes = 2: a primary with two front ends, mail through both, one /metrics, SIGHUP reloads both, SIGTERM drains both', async () => {
  const cli = await startCli(conf(''));
  try {
    const listening = await cli.logged('listening');
    const frontEnds = listening.frontEnds as number[];
    assert.equal(listening.pid, cli.pid);
    assert.equal(frontEnds.length, 2);
    assert.deepEqual(childrenOf(cli.pid).sort(), [...frontEnds].sort(), 'the primary\'s children are its two front ends');
    for (const pid of frontEnds) assert.equal(readFileSync(`/proc/${pid}/comm`, 'latin1').trim(), 'smtpipe');
    // Each process writes its own lines: a front end's may come after the primary's.
    await eventually(() => cli.logs.filter((l) => l.msg === 'front end listening').length === 2);

    const sent = await sendUntilBothServe(cli, 'a');
    assert.deepEqual([...deliveringPids(cli, 'a')].sort(), [...frontEnds].sort());
    const metrics = await scrape(cli, '/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(sample(metrics.text, 'smtpipe_transactions_total{result="delivered"}'), sent, 'both front ends\' counters, summed');
    assert.equal(sample(metrics.text, 'smtpipe_connections_total'), sent);
    assert.equal(sample(metrics.text, 'smtpipe_build_info{version="0.1.0"}'), 1, 'not one per front end');
    // The primary's own counters exist at 0 before their first event, as in one process.
    assert.equal(sample(metrics.text, 'smtpipe_config_reloads_total{result="success"}'), 0);
    assert.equal(sample(metrics.text, 'smtpipe_config_reloads_total{result="failure"}'), 0);
    assert.equal(sample(metrics.text, 'smtpipe_front_end_restarts_total'), 0);
    assert.equal(metrics.text.split('\n').filter((l) => l.startsWith('smtpipe_connections_total ')).length, 1, 'one series, not one per process');
    assert.deepEqual(await scrape(cli, '/readyz'), { status: 200, text: 'ready\n' });
    assert.equal((await scrape(cli, '/healthz')).status, 200);

    // SIGHUP to the one pid: the primary checks the file, both front ends load it.
    await writeConfig(path.join(cli.dir, 'smtpipe.conf'), conf(transport('b', `${fixture('programs', 'exit-with.sh')} 0`)), cli.dir);
    process.kill(cli.pid, 'SIGHUP');
    const reloaded = await cli.logged('configuration reloaded', 10_000);
    assert.equal(reloaded.pid, cli.pid);
    assert.equal(reloaded.frontEnds, 2);
    assert.equal(cli.logs.filter((l) => l.msg === 'configuration reloaded').length, 1, 'one line for the daemon');
    await eventually(() => cli.logs.filter((l) => l.msg === 'front end reloaded').length === 2);
    await sendUntilBothServe(cli, 'b');
    const afterReload = await scrape(cli, '/metrics');
    assert.equal(sample(afterReload.text, 'smtpipe_config_reloads_total{result="success"}'), 1, 'counted once, by the primary');

    // An invalid file: the primary refuses it alone; no front end is asked.
    await writeFile(path.join(cli.dir, 'smtpipe.conf'), 'Processes = 2\nno_such_option = 1\n');
    process.kill(cli.pid, 'SIGHUP');
    await cli.logged('reload failed: configuration invalid, still serving the previous one');
    assert.equal(cli.logs.filter((l) => l.msg === 'front end reloaded').length, 2);

    // SIGTERM drains every front end: the message in flight still gets its 250.
    const held = sendOne(cli.port, 'x@hold.test');
    await eventually(() => existsSync(path.join(cli.dir, 'ready')));
    const exited = new Promise<number | null>((resolve) => cli.child.once('exit', (code) => resolve(code)));
    process.kill(cli.pid, 'SIGTERM');
    await eventually(() => cli.logs.filter((l) => l.msg === 'draining').length === 2);
    assert.equal(cli.child.exitCode, null, 'still draining');
    await writeFile(path.join(cli.dir, 'release'), '');
    assert.equal((await held)?.code, 250);
    assert.equal(await exited, 0);
    assert.equal(cli.logs.filter((l) => l.msg === 'stopped' && l.pid === cli.pid && l.result === 'graceful').length, 1);
    for (const pid of frontEnds) assert.ok(!existsSync(`/proc/${pid}/stat`) || readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z'));
  } finally {
    await cli.stop();
  }
});
