// The single-process systems: smtp-server as a ceiling (accept and discard), the naive
// smtp-server + child_process.spawn design and the same with smtpipe's native spawner,
// and Postfix's smtp-sink as a second ceiling.
// Each is one child process in its own group, stopped by ManagedProcess.stop().

import { existsSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM } from '../names.js';
import { CEILING_SERVER, NAIVE_NATIVE_SERVER, NAIVE_SERVER, POSTFIX_SETUP } from '../paths.js';
import { freePort, runCommand, startProcess, waitForPort, type ManagedProcess } from '../processes.js';
import { SkipError, type BenchContext } from './context.js';
import type { SmtpSystem, StartedSystem } from './smtp-matrix.js';

const SMTP_SINK = '/usr/sbin/smtp-sink';

async function startedFrom(process: ManagedProcess, port: number): Promise<StartedSystem> {
  try {
    await waitForPort(port, 15_000, process);
  } catch (err) {
    await process.stop();
    throw err;
  }
  return {
    port,
    rootPid: process.pid,
    isAlive: () => !process.hasExited,
    stop: () => process.stop(),
  };
}

function nodeServer(name: string, file: string, args: (ctx: BenchContext) => string[]): SmtpSystem {
  return {
    name,
    async start(ctx) {
      const port = await freePort();
      const server = startProcess(name, process.execPath, [file, '--port', String(port), ...args(ctx)], {
        logFile: path.join(ctx.workDir, `${path.basename(file, '.js')}.log`),
      });
      return startedFrom(server, port);
    },
  };
}

export const ceilingSystem = nodeServer(SYSTEM.ceiling, CEILING_SERVER, () => []);
export const naiveSystem = nodeServer(SYSTEM.naive, NAIVE_SERVER, (ctx) => ['--program', ctx.program]);
export const naiveNativeSystem = nodeServer(SYSTEM.naiveNative, NAIVE_NATIVE_SERVER, (ctx) => ['--program', ctx.program]);

export const smtpSinkSystem: SmtpSystem = {
  name: SYSTEM.smtpSink,
  async start(ctx) {
    if (!existsSync(SMTP_SINK)) {
      const install = await runCommand(POSTFIX_SETUP, ['install'], { timeoutMs: 600_000 });
      if (install.code !== 0) throw new SkipError(`postfix (for smtp-sink) could not be installed: ${install.stderr.trim().split('\n').slice(-2).join(' / ')}`);
    }
    const port = await freePort();
    // Backlog as for the other servers' listen(); -u: drop root once listening.
    const sink = startProcess(SYSTEM.smtpSink, SMTP_SINK, ['-u', 'nobody', `127.0.0.1:${port}`, '511'], {
      logFile: path.join(ctx.workDir, 'smtp-sink.log'),
    });
    return startedFrom(sink, port);
  },
};
