// Postfix end to end: a private instance (bench/postfix/setup.sh) whose pipe(8) service runs
// the same program. A point ends when pipe(8) has delivered every accepted message, counted
// from the instance's own mail log, not when smtpd has queued them.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM } from '../names.js';
import { POSTFIX_SETUP } from '../paths.js';
import { freePort, registerCleanup, runCommand, sleep } from '../processes.js';
import { describeError, SkipError, type BenchContext } from './context.js';
import type { DrainResult, SmtpSystem, StartedSystem } from './smtp-matrix.js';

/** key=value lines printed by `setup.sh start`. */
export function parseSetupOutput(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1] as string, match[2] as string);
  }
  return values;
}

/** Deliveries and failures in a chunk of Postfix log lines. */
export function countDeliveries(lines: readonly string[]): { sent: number; bounced: number; deferred: number } {
  const counts = { sent: 0, bounced: 0, deferred: 0 };
  for (const line of lines) {
    if (!line.includes('postfix/pipe[')) continue;
    if (line.includes(' status=sent ')) counts.sent += 1;
    else if (line.includes(' status=bounced ')) counts.bounced += 1;
    else if (line.includes(' status=deferred ')) counts.deferred += 1;
  }
  return counts;
}

/** Reads a growing log file from a remembered offset, whole lines only. */
function createLogTail(file: string) {
  let offset = 0;
  let partial = '';
  return {
    skipToEnd() {
      offset = statSync(file).size;
      partial = '';
    },
    readLines(): string[] {
      const fd = openSync(file, 'r');
      try {
        const chunks: Buffer[] = [];
        const buffer = Buffer.alloc(1 << 20);
        for (;;) {
          const n = readSync(fd, buffer, 0, buffer.length, offset);
          if (n <= 0) break;
          offset += n;
          chunks.push(Buffer.from(buffer.subarray(0, n)));
        }
        const text = partial + Buffer.concat(chunks).toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        return lines;
      } finally {
        closeSync(fd);
      }
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const postfixSystem: SmtpSystem = {
  name: SYSTEM.postfixQueued,
  e2eName: SYSTEM.postfixE2e,
  async start(ctx: BenchContext): Promise<StartedSystem> {
    const work = path.join(ctx.workDir, 'postfix');
    const port = await freePort();
    const env = { ...process.env, BENCH_DOMAIN: ctx.domain, PIPE_PROGRAM: ctx.program };
    const unregister = registerCleanup(async () => {
      await runCommand(POSTFIX_SETUP, ['stop', work], { timeoutMs: 30_000 });
    });
    const stop = async () => {
      await runCommand(POSTFIX_SETUP, ['stop', work], { timeoutMs: 30_000, env });
      unregister();
    };
    const setup = await runCommand(POSTFIX_SETUP, ['start', work, String(port)], { timeoutMs: 600_000, env });
    if (setup.code !== 0) {
      await stop();
      const why = setup.stderr.trim().split('\n').slice(-3).join(' / ');
      throw /install|apt-get|not installed/i.test(why) ? new SkipError(`postfix could not be installed: ${why}`) : new Error(`postfix did not start: ${why}`);
    }
    const values = parseSetupOutput(setup.stdout);
    const masterPid = Number(values.get('master_pid'));
    const maillog = values.get('maillog');
    const configDir = values.get('config_directory');
    if (!masterPid || !maillog || !configDir) {
      await stop();
      throw new Error(`postfix setup printed no master_pid/maillog/config_directory: ${setup.stdout}`);
    }
    const log = createLogTail(maillog);
    const queueIsEmpty = async () => (await runCommand('postqueue', ['-c', configDir, '-p'], { timeoutMs: 30_000 })).stdout.includes('Mail queue is empty');

    return {
      port,
      rootPid: masterPid,
      isAlive: () => isRunning(masterPid),
      async beforePoint() {
        log.skipToEnd();
      },
      async drain(accepted: number): Promise<DrainResult> {
        const deadline = Date.now() + ctx.plan.drainTimeoutSeconds * 1000;
        const totals = { sent: 0, bounced: 0, deferred: 0 };
        let lastQueueCheck = Date.now();
        for (;;) {
          const counts = countDeliveries(log.readLines());
          totals.sent += counts.sent;
          totals.bounced += counts.bounced;
          totals.deferred += counts.deferred;
          const now = Date.now();
          const failures = totals.bounced + totals.deferred;
          const failureNote = failures > 0 ? `${totals.bounced} bounced, ${totals.deferred} deferred by pipe(8)` : null;
          // Deferred messages would be retried minutes later: they count as not delivered.
          if (totals.sent + totals.bounced >= accepted) {
            return { delivered: totals.sent, drainedAtMs: now, complete: totals.bounced === 0, note: failureNote };
          }
          if (now - lastQueueCheck > 2000) {
            lastQueueCheck = now;
            if (await queueIsEmpty()) {
              return { delivered: totals.sent, drainedAtMs: now, complete: failures === 0, note: failureNote ?? 'queue empty before every message was seen delivered' };
            }
          }
          if (now > deadline) {
            // Start the next point from an empty queue.
            const purge = await runCommand('postsuper', ['-c', configDir, '-d', 'ALL'], { timeoutMs: 60_000 });
            if (purge.code !== 0) ctx.note(`postfix: postsuper -d ALL failed: ${purge.stderr.trim()}`);
            const why = `queue not drained after ${ctx.plan.drainTimeoutSeconds} s: ${totals.sent} of ${accepted} delivered`;
            return { delivered: totals.sent, drainedAtMs: now, complete: false, note: failureNote ? `${why}, ${failureNote}` : why };
          }
          await sleep(100);
        }
      },
      async stop() {
        try {
          await stop();
        } catch (err) {
          ctx.note(`postfix: stop failed: ${describeError(err)}`);
        }
      },
    };
  },
};
