// The one interface every spawner implements (child-process.ts, native.ts), and what the
// rest of workers/ may rely on. Types and two small helpers only: no I/O, no state.
// test/integration/spawner-contract.test.ts runs the same tests against every spawner.

import type { Readable, Writable } from 'node:stream';
import type { RunAs } from '../../src/config/types.js';
import type { SpawnerName } from '../../src/pool/task.js';

export type { SpawnerName };

/**
 * A file the program's stdout or stderr is appended to. Opened for every run (log rotation
 * recreates it), in the program's own identity as a shell's `>>` would be, never through a
 * symbolic link; a FIFO, socket, device, directory or hard-linked file there is refused.
 * Created with `mode` minus the program's umask; an existing file keeps its mode.
 */
export interface OutputFile {
  readonly path: string;
  readonly mode: number;
}

export interface ProgramSpec {
  /** Absolute path of the program; run by execve, never through a shell nor a PATH search. */
  readonly file: string;
  readonly args: readonly string[];
  /** The program's whole environment: nothing is inherited from ours. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the program's stdout goes; null = /dev/null. */
  readonly stdout: OutputFile | null;
  /** Same for stderr. */
  readonly stderr: OutputFile | null;
  /**
   * uid and gid to switch to before exec (the caller must be root), with the supplementary
   * groups emptied; null = keep ours. Switched after chdir, so cwd is entered as we are.
   */
  readonly runAs: RunAs | null;
  /** Working directory; null = ours. A failing chdir is a spawn failure (ENOENT, EACCES...). */
  readonly cwd: string | null;
  /** The program's umask; null = ours. */
  readonly umask: number | null;
  /**
   * A descriptor the program gets as its fd 0 instead of a pipe (a spool file, opened
   * read-only for this run); null = a pipe, RunningProgram.stdin. The caller keeps it and
   * closes it once startProgram settled: the program has its own copy by then.
   */
  readonly stdinFile: number | null;
  /**
   * Streams the program writes into a pipe of ours instead (RunningProgram.stdout/stderr),
   * for reply_from_output and the stderr tail. Only a stream without a file: the caller
   * never asks for both.
   */
  readonly capture: { readonly stdout: boolean; readonly stderr: boolean };
}

export interface ProgramExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * Set when what ran was not the program but child_process's wrapper shell, which refused
   * or failed to open an output and exited instead of exec'ing the program.
   */
  readonly startFailure?: StartFailure;
  /**
   * Why the group SIGKILL the native spawner sends before the reap reached nobody (EPERM:
   * everything left in the group, the program's zombie included, runs as another uid), or
   * null. Always null from child_process, whose caller sends that kill itself.
   */
  readonly killFailure: string | null;
}

export interface RunningProgram {
  /** Also the id of the program's session and process group (it leads both). */
  readonly pid: number;
  /**
   * The program's stdin: a UNIX socketpair (child_process) or a pipe (native); null when
   * ProgramSpec.stdinFile was given. It always has an 'error' listener, so an EPIPE never
   * crashes the thread. It is destroyed when the program exits, so pending writes settle
   * then even if a grandchild still holds it.
   */
  readonly stdin: Writable | null;
  /**
   * The read ends of the capture pipes (ProgramSpec.capture), else null. The caller must
   * read them to the end or destroy them: a program whose pipe is full blocks. A
   * grandchild that escaped the group (setsid) may hold the write end after the exit, so
   * the caller must not wait for their end without a bound.
   */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * Settles once the program has been reaped; never rejects. The native spawner has by then
   * SIGKILLed the rest of the group (before the reap, while the zombie still pinned the
   * group id); child_process cannot, so the caller must still call killGroup('SIGKILL').
   */
  readonly exited: Promise<ProgramExit>;
  /**
   * Signals every process in the program's group; a group already gone is no error. After
   * `exited`, the native spawner does nothing: its group was killed already, and the
   * number may name another group by now. Returns null, or the error code when no process
   * could be signalled (EPERM: a setuid program such as procmail or `sudo -u` changed the
   * uid of every process left in the group). Never throws: it runs in timer callbacks,
   * where a throw would end the worker thread and every delivery on it.
   */
  killGroup(signal: NodeJS.Signals): string | null;
}

export interface StartFailure {
  readonly ok: false;
  readonly errorCode: string;
  readonly message: string;
  /**
   * Set when opening that output was what failed (refused, see OutputFile, or an open
   * error): the program did not run. errorCode is then an errno code (ELOOP for a
   * symbolic link, EISDIR, EACCES...), ERR_OUTPUT_NOT_REGULAR or ERR_OUTPUT_HARDLINKED,
   * and message says why without naming the path.
   */
  readonly output?: 'stdout' | 'stderr';
}

export type StartResult = { readonly ok: true; readonly program: RunningProgram } | StartFailure;

export interface Spawner {
  readonly name: SpawnerName;
  /**
   * Starts the program. ENOENT, EACCES and friends are values (ok: false), never throws.
   * A NUL byte in the file, an argument, the environment or cwd, and ids runAsProblem
   * refuses, are ERR_SPAWN_INVALID_ARG.
   */
  startProgram(spec: ProgramSpec): Promise<StartResult>;
}

/**
 * Why `runAs` cannot be used, or null: ids must be whole numbers from 0 to 2^31-1 (Node's
 * spawn takes int32; the addon would read a negative id as "keep ours"). The config never
 * produces others; both spawners refuse them alike, as ERR_SPAWN_INVALID_ARG.
 */
export function runAsProblem(runAs: RunAs | null): string | null {
  if (runAs === null) return null;
  const ok = [runAs.uid, runAs.gid].every((id) => Number.isInteger(id) && id >= 0 && id <= 0x7fffffff);
  return ok ? null : `uid and gid must be whole numbers from 0 to 2147483647, got ${runAs.uid} and ${runAs.gid}`;
}

/** The `code` of a Node system error (ENOENT, EPIPE...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/**
 * process.kill(-pid): null when it reached the group or the group is gone already (ESRCH),
 * else the error code (EPERM: every process left in it changed its uid). A value, never a
 * throw: the caller records it in the outcome, and the dispatcher logs it.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): string | null {
  try {
    process.kill(-pid, signal);
    return null;
  } catch (err) {
    const code = errorCode(err) ?? 'ERR_PROGRAM_KILL';
    return code === 'ESRCH' ? null : code;
  }
}
