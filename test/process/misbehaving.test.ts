// Programs and a host that misbehave, against the built CLI: 1,000 runs of exit codes,
// signals, timeouts and background grandchildren leave no zombie and no process group
// behind; an output file that is always full (ENOSPC) leaves the decision to the exit
// status; running out of file descriptors refuses new sessions, not existing ones.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/daemon.js';
import { allProcesses } from '../helpers/processes.js';
import { fixture } from '../helpers/paths.js';
import { openSession, SmtpClient, type Reply } from '../helpers/smtp-client.js';

async function pollUntil<T>(probe: () => T, done: (value: T) => boolean, timeoutMs: number): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = probe();
    const ms = Math.round(performance.now() - started);
    if (done(value) || ms > timeoutMs) return { value, ms };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Deterministic mix: 1,000 actions for misbehave.sh, with the reply each must get. */
function actionMix(count: number): Array<{ action: string; expected: string }> {
  const signals = ['KILL', 'TERM', 'USR1', 'HUP', 'PIPE', 'ALRM', 'INT'];
  const statuses = [0, 1, 2, 75, 100, 111, 255];
  const byExit = (n: number) => (n === 0 ? /^250 2\.0\.0 Ok: queued as / : new RegExp(`^504 5\\.5\\.0 pipe transport gave exit status ${n}$`));
  const bySignal = (s: string) => new RegExp(`^451 4\\.3\\.0 pipe transport program killed by signal SIG${s}$`);
  const timedOut = /^451 4\.3\.0 pipe transport program timed out after 4 s$/;
  return Array.from({ length: count }, (_, i) => {
    const bucket = i % 100;
    const n = statuses[i % statuses.length] as number;
    const s = signals[i % signals.length] as string;
    if (bucket < 30) return { action: `exit-${n}`, expected: byExit(n).source };
    if (bucket < 45) return { action: `signal-${s}`, expected: bySignal(s).source };
    if (bucket < 50) return { action: 'hang', expected: timedOut.source };
    if (bucket < 51) return { action: 'hang-hard', expected: timedOut.source };
    if (bucket < 85) return { action: `fork-exit-${n}`, expected: byExit(n).source };
    const forkSignal = ['KILL', 'TERM', 'USR1'][i % 3] as string;
    return { action: `fork-signal-${forkSignal}`, expected: bySignal(forkSignal).source };
  });
}

test('1,000 misbehaving runs: no zombie child of the daemon, no process group of a program left', async (t) => {
  const cli = await startCli(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "misbehave" {
      allow_root = true
      program_name = "${fixture('programs', 'misbehave.sh')} \${local}"
      domain = ( "misbehave.test" )
      output_file = "{{dir}}/stdout"
      timeout = 4
      concurrency = 32
    }
  `);
  try {
    const mix = actionMix(1000);
    const queue = mix.map((entry, index) => ({ ...entry, index }));
    // Zombies of the daemon seen while it works: transient ones (exit to reap) are normal.
    let maxTransientZombies = 0;
    const sampler = setInterval(() => {
      const zombies = allProcesses().filter((p) => p.ppid === cli.pid && p.state === 'Z').length;
      maxTransientZombies = Math.max(maxTransientZombies, zombies);
    }, 100);
    const wrong: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const client = await openSession(cli.port);
          for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
            const reply = await client.sendMail('a@origin.test', [`${item.action}@misbehave.test`], `Subject: ${item.index}\r\n\r\nhi\r\n`);
            if (!new RegExp(item.expected).test(reply.line)) wrong.push(`${item.action}: ${reply.line}`);
          }
          await client.quit();
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} unexpected replies`);

    // The log is asynchronous: the last lines may still be in the pipe when the last reply lands.
    const logged = await pollUntil(() => cli.logs.filter((l) => l.msg === 'delivery'), (lines) => lines.length >= 1000, 5000);
    const deliveries = logged.value;
    assert.equal(deliveries.length, 1000);
    const pgids = new Set(deliveries.map((l) => Number(l.programPid)));
    assert.equal(pgids.size, 1000, 'every run has its own pid, hence process group');

    // Right after the last reply: zombies of the daemon, live processes of the programs' groups.
    const first = allProcesses();
    const zombiesOfDaemon = first.filter((p) => p.ppid === cli.pid && p.state === 'Z');
    const liveInGroups = first.filter((p) => pgids.has(p.pgrp) && p.state !== 'Z');
    const deadInGroups = first.filter((p) => pgids.has(p.pgrp) && p.state === 'Z');
    // Killed orphans are reaped by init (or a subreaper), not by the daemon: give it time.
    const settled = await pollUntil(() => allProcesses().filter((p) => pgids.has(p.pgrp)), (left) => left.length === 0, 10000);
    const ps = await new Promise<string>((resolve) => {
      const child = spawn('ps', ['-eo', 'pid,ppid,pgid,stat,comm'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', () => resolve(out));
    });
    const psZombiesOfDaemon = ps
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter(([, ppid, , stat]) => Number(ppid) === cli.pid && (stat ?? '').startsWith('Z'));

    const byOutcome: Record<string, number> = {};
    for (const l of deliveries) byOutcome[String(l.outcome)] = (byOutcome[String(l.outcome)] ?? 0) + 1;
    t.diagnostic(`runs 1000 by outcome ${JSON.stringify(byOutcome)}; most daemon zombies seen at once while running: ${maxTransientZombies}`);
    t.diagnostic(
      `after the last reply: daemon zombies ${zombiesOfDaemon.length} (/proc) and ${psZombiesOfDaemon.length} (ps); ` +
        `program groups with live processes ${liveInGroups.length}, with zombies awaiting init ${deadInGroups.length}; ` +
        `all ${pgids.size} groups gone after ${settled.ms} ms (left: ${settled.value.length})`,
    );
    assert.deepEqual(zombiesOfDaemon, [], 'zombie children of the daemon (/proc)');
    assert.deepEqual(psZombiesOfDaemon, [], 'zombie children of the daemon (ps)');
    assert.deepEqual(liveInGroups, [], 'processes still alive in a finished program group');
    assert.deepEqual(settled.value, [], 'process groups of finished programs still exist');
  } finally {
    assert.equal(await cli.stop(), 0);
  }
});

test('output_file = "/dev/full", a device: refused (451, program not run), logged with the path, the daemon serves on', async (t) => {
  // The load refuses a device as output_file (program-access.ts): {{dir}}/devices is a
  // directory then, and a link to /dev once the daemon runs, so the runs meet /dev/full.
  const dir = await scratchDir();
  const devices = path.join(dir, 'devices');
  mkdirSync(devices);
  const device = path.join(devices, 'full');
  const cli = await startCli(`
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "full" { allow_root = true program_name = "/bin/cat" domain = ( "full.test" ) output_file = "${device}" error_file = "${device}" }
    pipe_transport "silent" { allow_root = true program_name = "${fixture('programs', 'exit-with.sh')} 0" domain = ( "silent.test" ) error_file = "${device}" }
    pipe_transport "copy" { allow_root = true program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml" domain = ( "copy.test" ) }
  `, { dir });
  rmdirSync(devices);
  symlinkSync('/dev', devices);
  try {
    const client = await openSession(cli.port);
    const replies: string[] = [];
    for (const to of ['x@full.test', 'x@silent.test', 'x@copy.test', 'y@full.test', 'y@copy.test']) {
      replies.push((await client.sendMail('a@origin.test', [to], 'Subject: full\r\n\r\nENOSPC\r\n')).line);
    }
    await client.quit();
    t.diagnostic(`replies: ${JSON.stringify(replies)}`);
    const refused = '451 4.3.0 pipe transport output file unavailable';
    assert.deepEqual([replies[0], replies[1], replies[3]], [refused, refused, refused]);
    assert.match(replies[2] as string, /^250 /);
    assert.match(replies[4] as string, /^250 /);
    const full = cli.logs.filter((l) => l.transport === 'full');
    assert.deepEqual(
      full.map((l) => [l.level, l.outcome, l.programPid, l.error]),
      Array.from({ length: 2 }, () => [50, 'output-failed', null, `output_file ${device}: is not a regular file (a FIFO, socket or device) (ERR_OUTPUT_NOT_REGULAR)`]),
    );
    assert.ok(String(cli.logs.find((l) => l.transport === 'silent')?.error).startsWith(`error_file ${device}: is not a regular file`));
  } finally {
    assert.equal(await cli.stop(), 0);
  }
});

/** What became of one connection attempt under descriptor exhaustion. */
type Attempt = { kind: 'greeted'; client: SmtpClient } | { kind: 'refused' | 'closed' | '421' | 'silent' | 'other'; detail: string };

async function attemptSession(port: number): Promise<Attempt> {
  let client: SmtpClient;
  try {
    client = await SmtpClient.connect(port);
  } catch (error) {
    return { kind: 'refused', detail: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
  const greeting = await Promise.race([
    client.reply(2000).catch(() => 'silent' as const),
    client.closed.then(() => 'closed' as const),
  ]);
  if (greeting === 'silent' || greeting === 'closed') {
    client.destroy();
    return { kind: greeting, detail: greeting === 'silent' ? 'connected, no greeting within 2 s' : 'connected, closed without a reply' };
  }
  if (greeting.code === 220) return { kind: 'greeted', client };
  client.destroy();
  return { kind: greeting.code === 421 ? '421' : 'other', detail: greeting.line };
}

test('file descriptors exhausted (ulimit -n 128): new sessions refused or 421, existing ones deliver, then it recovers', async (t) => {
  const cli = await startCli(
    `
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" { allow_root = true program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml" domain = ( "copy.test" ) }
  `,
    { shellPrefix: 'ulimit -n 128' },
  );
  const open: SmtpClient[] = [];
  try {
    const limits = readFileSync(`/proc/${cli.pid}/limits`, 'latin1');
    assert.match(limits, /^Max open files\s+128\s+/m, 'the daemon runs with 128 descriptors');
    const fdsAtStart = readdirSync(`/proc/${cli.pid}/fd`).length;
    let refusal: Attempt | undefined;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      const attempt = await attemptSession(cli.port);
      if (attempt.kind === 'greeted') open.push(attempt.client);
      else refusal = attempt;
    }
    const fdsAtLimit = readdirSync(`/proc/${cli.pid}/fd`).length;
    const greeted = open.length;
    assert.ok(refusal, `200 sessions opened under a limit of 128 descriptors`);
    // A second try at the limit: refusal is the steady state, not a one-off.
    const again = await attemptSession(cli.port);
    if (again.kind === 'greeted') open.push(again.client);

    // Existing sessions must still be able to finish their transactions.
    const existing: Reply[] = [];
    for (const client of open.slice(0, 3)) {
      const ehlo = await client.command('EHLO existing.test');
      if (ehlo.code !== 250) {
        existing.push(ehlo);
        continue;
      }
      existing.push(await client.sendMail('a@origin.test', ['x@copy.test'], 'Subject: at the limit\r\n\r\nhi\r\n'));
    }
    const deliveriesAtLimit = cli.logs.filter((l) => String(l.msg).startsWith('delivery')).map((l) => `${l.outcome} ${l.error ?? ''} -> ${l.reply}`);

    for (const client of open.splice(0)) client.destroy();
    // Recovery: once the sessions are gone a new one is served and delivers.
    const recovered = await pollUntil(
      () => readdirSync(`/proc/${cli.pid}/fd`).length,
      (n) => n <= fdsAtStart + 5,
      5000,
    );
    const after = await openSession(cli.port);
    const afterReply = await after.sendMail('a@origin.test', ['x@copy.test'], 'Subject: recovered\r\n\r\nhi\r\n');
    await after.quit();

    const warnings = cli.logs.filter((l) => l.level === 40 || l.level === 50).map((l) => `${l.msg}${l.err ? `: ${(l.err as { message?: string }).message}` : ''}`);
    t.diagnostic(`descriptors: ${fdsAtStart} at start, ${fdsAtLimit} at the limit, ${recovered.value} ${recovered.ms} ms after closing`);
    t.diagnostic(`sessions greeted before the first refusal: ${greeted}; refusal: ${JSON.stringify(refusal)}; next try: ${again.kind === 'greeted' ? 'greeted' : JSON.stringify(again)}`);
    t.diagnostic(`existing sessions at the limit got: ${JSON.stringify(existing.map((r) => r.line))}`);
    t.diagnostic(`delivery log at the limit: ${JSON.stringify(deliveriesAtLimit)}`);
    t.diagnostic(`warn/error log lines: ${JSON.stringify([...new Set(warnings)])}; stderr: ${JSON.stringify(cli.stderr.slice(0, 5))}`);
    t.diagnostic(`after closing them, a new session got: ${afterReply.line}`);

    assert.ok(['refused', 'closed', '421'].includes(refusal.kind), `a new session at the limit is refused or gets 421, not: ${JSON.stringify(refusal)}`);
    for (const reply of existing) assert.match(reply.line, /^250 /, 'an existing session finishes its transaction at the limit');
    assert.match(afterReply.line, /^250 /, 'the daemon recovers');
    assert.equal(cli.child.exitCode, null, 'the daemon is still running');
  } finally {
    for (const client of open) client.destroy();
    await cli.stop();
  }
});
