// Starting and stopping the processes of a run: servers in their own process group (so a
// stop reaches their workers and programs), SIGTERM then SIGKILL, always awaiting the exit.
// A registry lets run.ts stop whatever is still alive when it is interrupted.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { accepts } from '../../test/helpers/ports.js';
import { readProcessTable, treeOf, type ProcStat } from './measure.js';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** True once the process has exited (for whatever reason). */
  readonly hasExited: boolean;
  /** SIGTERM to the group, SIGKILL after graceMs; resolves once the leader is reaped. */
  stop(graceMs?: number): Promise<void>;
  /** Sends a signal to the leader only (e.g. a daemon's second SIGTERM, which forces). */
  signal(signal: NodeJS.Signals): void;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (appended); default: discarded. */
  readonly logFile?: string;
}

/** Everything started and not yet stopped, for a last-resort cleanup. */
const live = new Set<ManagedProcess>();
/** Other things to undo at a last-resort cleanup (a daemonized Postfix). */
const cleanups = new Set<() => Promise<void>>();

/** Registers an undo action for stopAll(); returns its unregistration. */
export function registerCleanup(action: () => Promise<void>): () => void {
  cleanups.add(action);
  return () => cleanups.delete(action);
}

export function startProcess(name: string, file: string, args: readonly string[], options: StartOptions = {}): ManagedProcess {
  const fd = options.logFile ? openSync(options.logFile, 'a') : null;
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
    });
  } finally {
    if (fd !== null) closeSync(fd);
  }
  let hasExited = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // ENOENT and friends: no 'exit' comes.
    child.once('error', () => resolve({ code: null, signal: null }));
  }).then((exit) => {
    hasExited = true;
    live.delete(managed);
    return exit;
  });
  const pid = child.pid ?? -1;
  const managed: ManagedProcess = {
    name,
    pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    signal(signal: NodeJS.Signals) {
      if (!hasExited && pid > 0) child.kill(signal);
    },
    async stop(graceMs = 5000) {
      if (hasExited || pid < 0) {
        await exited;
        return;
      }
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Whatever the leader left behind in its group (programs, workers) goes too.
      signalGroup(pid, 'SIGKILL');
    },
  };
  live.add(managed);
  return managed;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is gone already. Anything else is a real problem worth seeing.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') console.error(`bench: kill(-${pid}, ${signal}) failed`, err);
  }
}

/** The processes under rootPid now (not rootPid itself), to check on after a stop. */
export async function descendantsOf(rootPid: number): Promise<ProcStat[]> {
  return treeOf(await readProcessTable(), rootPid).slice(1);
}

/**
 * SIGKILLs, with their process groups, those of `processes` still alive (same pid and
 * start time): programs a server started in groups of their own, which a signal to the
 * server's group does not reach. Returns how many were left.
 */
export async function killLeftovers(processes: readonly ProcStat[]): Promise<number> {
  const now = await readProcessTable();
  const left = processes.filter((p) => now.get(p.pid)?.startTicks === p.startTicks);
  for (const p of left) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Gone between the check and the kill: nothing left to do.
      }
    }
  }
  return left.length;
}

/** Stops every process still registered (interrupt, or a scenario that forgot). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(2000)));
  await Promise.all([...cleanups].map((action) => action().catch((err: unknown) => console.error('bench: cleanup failed', err))));
  cleanups.clear();
}

/** A port free on 127.0.0.1 right now (the OS picks it; another process could still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects after timeoutMs or if `process` exits. */
export async function waitForPort(port: number, timeoutMs: number, process?: ManagedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process?.hasExited) throw new Error(`${process.name} exited before listening on ${port}`);
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion; never rejects (a failure is in `code`). */
export function runCommand(file: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs ?? 60_000, env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (error && code === null ? error.message : '') });
      },
    );
  });
}
