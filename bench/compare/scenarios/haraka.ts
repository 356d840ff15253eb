// Haraka (optional): installed from npm outside the repository by bench/haraka/setup.sh,
// two cluster processes, a queue plugin that pipes each message into the same program and
// answers after it exited. Skipped, with the reason, when it cannot be installed.

import path from 'node:path';
import { SYSTEM } from '../names.js';
import { HARAKA_SCRATCH, HARAKA_SETUP } from '../paths.js';
import { freePort, runCommand, sleep, startProcess, waitForPort } from '../processes.js';
import { SkipError, type BenchContext } from './context.js';
import type { SmtpSystem, StartedSystem } from './smtp-matrix.js';

/** Cluster workers come up one by one; give the second one time to listen too. */
const CLUSTER_SETTLE_MS = 1500;

export const harakaSystem: SmtpSystem = {
  name: SYSTEM.haraka,
  async start(ctx: BenchContext): Promise<StartedSystem> {
    const work = path.join(ctx.workDir, 'haraka');
    const port = await freePort();
    const env = { ...process.env, BENCH_DOMAIN: ctx.domain, HARAKA_NODES: '2' };
    const setup = await runCommand(HARAKA_SETUP, ['config', HARAKA_SCRATCH, work, String(port)], { timeoutMs: 600_000, env });
    const bin = setup.stdout.trim().split('\n').pop() ?? '';
    if (setup.code !== 0 || !bin) {
      throw new SkipError(`Haraka could not be installed or configured: ${setup.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    }
    const daemon = startProcess(SYSTEM.haraka, process.execPath, [bin, '-c', work], {
      cwd: work,
      logFile: path.join(ctx.workDir, 'haraka.log'),
      env: { ...env, BENCH_PIPE_PROGRAM: ctx.program },
    });
    try {
      await waitForPort(port, 30_000, daemon);
      await sleep(CLUSTER_SETTLE_MS);
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return { port, rootPid: daemon.pid, isAlive: () => !daemon.hasExited, stop: () => daemon.stop(10_000) };
  },
};
