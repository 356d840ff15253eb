// The built CLI running as `nobody`, its programs under the same uid (the recommended
// unprivileged setup), next to a setuid-root delivery agent. Issue 11 item 8 (security
// review finding 9, operator-ux finding 11): a program cannot read the daemon's
// environment or open files through /proc (PR_SET_DUMPABLE 0), and SIGUSR1 never opens
// Node's inspector. Item 6 end to end: a kill that reaches no process is logged as a
// warning and changes no reply; an orphan that cannot be killed is reaped once it exits.
// Needs root: to start the daemon as nobody and install the setuid-root helper.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { allProcesses } from '../helpers/processes.js';
import { scratchDir } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { accepts, freePort } from '../helpers/ports.js';
import { procStat } from '../helpers/processes.js';
import { installSetuidHelper, nobody } from '../helpers/setuid-helper.js';
import { openSession } from '../helpers/smtp-client.js';

const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: starts the daemon as nobody, installs a setuid-root helper' };

describe('smtpipe as nobody, programs under its uid', ROOT_ONLY, () => {
  const secret = `SMTPIPE_TEST_SECRET=${randomUUID()}`;
  let helper: ReturnType<typeof installSetuidHelper> | undefined;
  let cli: RunningCli;
  let dir: string;
  let inspectorPort: number;

  before(async () => {
    helper = installSetuidHelper();
    dir = await scratchDir();
    const { uid, gid } = nobody();
    chownSync(dir, uid, gid);
    inspectorPort = await freePort();
    const conf = `
      ESMTP_Listener { Listen "127.0.0.1:0" { } }
      pipe_transport "peek" { program_name = "${fixture('programs', 'peek-parent.sh')}" domain = ( "peek.test" ) output_file = "{{dir}}/peek.out" }
      pipe_transport "agent" { program_name = "${helper.file} 1500" domain = ( "agent.test" ) timeout = 1 }
      pipe_transport "leave" {
        program_name = "${fixture('programs', 'leave-setuid-child.sh')} ${helper.file} {{dir}}/root-child-ready 1000"
        domain = ( "leave.test" )
      }
    `;
    cli = await startCli(conf, {
      dir,
      uid,
      gid,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [secret.split('=')[0] as string]: secret.split('=')[1] },
      nodeArgs: [`--inspect-port=127.0.0.1:${inspectorPort}`],
    });
  });
  after(async () => {
    await cli?.stop();
    if (helper) rmSync(helper.dir, { recursive: true, force: true });
  });

  async function send(domain: string): Promise<string> {
    const client = await openSession(cli.port);
    const reply = await client.sendMail('a@origin.test', [`x@${domain}`], 'Subject: t\r\n\r\nhi\r\n');
    await client.quit();
    return reply.line;
  }

  test('hardening is on, and the daemon still reads its own /proc/self/fd and limits', async () => {
    const hardening = await cli.logged('process hardening');
    assert.deepEqual([hardening.dumpable, hardening.subreaper], ['no', true]);
    const budget = await cli.logged('file descriptor budget');
    assert.ok(Number(budget.fdsInUse) > 3 && Number.isFinite(Number(budget.openFileLimit)), JSON.stringify(budget));
  });

  test("a program under the daemon's uid cannot read its environment or fds through /proc", async () => {
    assert.match(await send('peek.test'), /^250 /);
    const seen = readFileSync(path.join(dir, 'peek.out'), 'latin1');
    assert.match(seen, new RegExp(`^parent ${cli.pid}$`, 'm'), seen);
    assert.ok(!seen.includes(secret), `the program read the daemon's environment:\n${seen}`);
    assert.match(seen, /environ: Permission denied/);
    assert.match(seen, /fd.*Permission denied/);
  });

  test('SIGUSR1 is logged and ignored: no inspector listens, the daemon still serves', async () => {
    assert.equal(await accepts(inspectorPort), false, 'inspector port busy before the signal');
    process.kill(cli.pid, 'SIGUSR1');
    // Either the log line (new) or the inspector (old) comes: wait for one of them.
    for (let i = 0; i < 150 && !cli.logs.some((l) => l.signal === 'SIGUSR1') && !(await accepts(inspectorPort)); i += 1) await sleep(20);
    await sleep(200);
    assert.equal(await accepts(inspectorPort), false, `the inspector listens on ${inspectorPort}: ${cli.stderr.join('\n')}`);
    assert.ok(cli.logs.some((l) => l.signal === 'SIGUSR1' && l.level === 40), 'a warning names SIGUSR1');
    assert.deepEqual(cli.stderr.filter((line) => /Debugger/.test(line)), []);
    assert.match(await send('peek.test'), /^250 /);
  });

  test('a setuid program that outlives its timeout: 451, one warning with the failed kills, the daemon serves on', async () => {
    assert.equal(await send('agent.test'), '451 4.3.0 pipe transport program timed out after 1 s');
    const warning = await cli.logged("could not signal the program's process group: a setuid program there runs as another user");
    assert.equal((warning.killFailures as string[])[0], 'SIGTERM EPERM');
    assert.match(await send('peek.test'), /^250 /);
  });

  test('exit 0 leaving a setuid child: 250; the child cannot be killed (logged) but is reaped once it exits', async () => {
    assert.match(await send('leave.test'), /^250 /);
    assert.ok(existsSync(path.join(dir, 'root-child-ready')));
    const refused = await cli.logged('could not kill a process a program left behind');
    assert.equal(refused.error, 'EPERM');
    const orphan = Number(refused.pid);
    // It sleeps 1 s in all: gone (reaped, not a zombie) within that and two sweeps.
    for (let i = 0; i < 100 && procStat(orphan) !== null; i += 1) await sleep(20);
    assert.equal(procStat(orphan), null, `orphan ${orphan}: ${JSON.stringify(procStat(orphan))}`);
    assert.deepEqual(allProcesses().filter((p) => p.ppid === cli.pid && p.state === 'Z'), [], 'zombie children of the daemon');
  });
});
