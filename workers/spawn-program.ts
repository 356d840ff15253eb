// Owns the one call into node:child_process: start a program without a shell, leading its
// own process group, with exactly the given environment and stdio. Decides no policy
// (timeouts, what to write, what an exit means): run-program.ts does. A native posix_spawn
// addon can replace this file behind the same interface.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface ProgramSpec {
  /** Path of the program; run by execve, never through a shell. */
  readonly file: string;
  readonly args: readonly string[];
  /** The program's whole environment: nothing is inherited from ours. */
  readonly env: Readonly<Record<string, string>>;
  /** An open fd the program gets as stdout (it holds its own dup); null = /dev/null. */
  readonly stdoutFd: number | null;
  /** Same for stderr. */
  readonly stderrFd: number | null;
}

export interface ProgramExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningProgram {
  /** Also the id of the program's process group. */
  readonly pid: number;
  /**
   * The program's stdin (a UNIX socketpair under libuv, not a pipe). It always has an
   * 'error' listener, so an EPIPE never crashes the thread. Node destroys it when the
   * program exits, so pending writes settle then even if a grandchild still holds it.
   */
  readonly stdin: Writable;
  /** Settles once the program has been reaped; never rejects. */
  readonly exited: Promise<ProgramExit>;
  /** Signals every process in the program's group; a group already gone is no error. */
  killGroup(signal: NodeJS.Signals): void;
}

export type StartResult =
  | { readonly ok: true; readonly program: RunningProgram }
  | { readonly ok: false; readonly errorCode: string; readonly message: string };

/**
 * Starts the program. ENOENT, EACCES and friends are values (ok: false), never throws.
 * Uses 'exit', never 'close': a grandchild holding the program's pipes delays 'close'
 * for as long as it lives.
 */
export function startProgram(spec: ProgramSpec): Promise<StartResult> {
  let child: ChildProcess;
  try {
    child = spawn(spec.file, spec.args, {
      shell: false,
      // libuv calls setsid(): the program leads a new session and process group, so
      // killGroup reaches its children too, and it has no controlling terminal.
      detached: true,
      env: { ...spec.env },
      stdio: ['pipe', spec.stdoutFd ?? 'ignore', spec.stderrFd ?? 'ignore'],
    });
  } catch (err) {
    // Node throws synchronously for invalid arguments (a NUL byte in an argument) and for
    // exec errors other than ENOENT, EACCES, EAGAIN, EMFILE, ENFILE (E2BIG, ENOEXEC...).
    return Promise.resolve(failure(err));
  }
  const stdin = child.stdin;
  if (stdin === null) throw new Error('bug: stdin of a spawned program is not a pipe');
  // The error is collected by whoever writes (run-program awaits finished(stdin)); this
  // listener only keeps an unobserved EPIPE from becoming an uncaught exception.
  stdin.on('error', ignoreStdinError);
  const exited = new Promise<ProgramExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  return new Promise<StartResult>((resolve) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve({ ok: true, program: createRunningProgram(child, stdin, exited) });
    };
    // ENOENT/EACCES: 'error' and then 'close', but never 'spawn' nor 'exit'.
    const onError = (err: Error): void => {
      child.off('spawn', onSpawn);
      stdin.destroy();
      resolve(failure(err));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

function createRunningProgram(
  child: ChildProcess,
  stdin: Writable,
  exited: Promise<ProgramExit>,
): RunningProgram {
  const pid = child.pid;
  if (pid === undefined) throw new Error('bug: spawned program has no pid');
  return {
    pid,
    stdin,
    exited,
    killGroup(signal: NodeJS.Signals): void {
      try {
        process.kill(-pid, signal);
      } catch (err) {
        // ESRCH: every process of the group is gone already. Anything else (EPERM: a
        // member changed its uid) is a deployment bug to surface, not to hide.
        if (errorCode(err) !== 'ESRCH') throw err;
      }
    },
  };
}

function ignoreStdinError(): void {
  // Deliberately empty: see the comment where it is attached.
}

function failure(err: unknown): { ok: false; errorCode: string; message: string } {
  return {
    ok: false,
    errorCode: errorCode(err) ?? 'ERR_SPAWN_UNKNOWN',
    message: err instanceof Error ? err.message : String(err),
  };
}

/** The `code` of a Node system error (ENOENT, EPIPE...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}
