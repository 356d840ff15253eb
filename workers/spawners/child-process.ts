// The portable spawner, and the fallback when the native addon is unavailable: the one call
// into node:child_process. Starts a program without a shell, leading its own session and
// process group, with exactly the given environment and stdio. Decides no policy
// (timeouts, what to write, what an exit means): run-program.ts does.
//
// Its cost: libuv fork()s the whole daemon and blocks the calling thread until exec, so
// each spawn costs more the more memory the process holds (REFERENCE.md section 5).
//
// Privileges: libuv's child does chdir, then setgroups(0, NULL), setgid, setuid, as the
// native spawner does. Node has no umask option, and process.umask() would change the whole
// daemon (and throws in a worker), so a umask goes through `/bin/sh -c 'umask N && exec
// "$0" "$@"'`: the one shell smtpipe ever runs, with the program and its arguments as
// positional parameters, never in the script. A missing or unexecutable program would then
// show as the shell's exit 127 or 126, a code-mapped *exit*; access(X_OK) first turns the
// common cases back into ENOENT/EACCES start failures (451). It checks as smtpipe, not as
// the program's user: a file only root may run still comes back as 126.

import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import {
  errorCode,
  runAsProblem,
  signalGroup,
  type ProgramExit,
  type ProgramSpec,
  type RunningProgram,
  type Spawner,
  type StartResult,
} from './contract.js';

export const childProcessSpawner: Spawner = {
  name: 'child_process',
  async startProgram(spec) {
    const badIds = runAsProblem(spec.runAs);
    if (badIds !== null) return { ok: false, errorCode: 'ERR_INVALID_ARG_VALUE', message: badIds };
    if (spec.umask !== null) {
      try {
        await access(spec.file, constants.X_OK);
      } catch (err) {
        return failure(err);
      }
    }
    return start(spec);
  },
};

function start(spec: ProgramSpec): Promise<StartResult> {
  let child: ChildProcess;
  const [file, args] = spec.umask === null ? [spec.file, spec.args] : withUmask(spec.umask, spec.file, spec.args);
  try {
    child = spawn(file, args, {
      shell: false,
      // libuv calls setsid(): the program leads a new session and process group, so
      // killGroup reaches its children too, and it has no controlling terminal.
      detached: true,
      env: { ...spec.env },
      stdio: ['pipe', spec.stdoutFd ?? 'ignore', spec.stderrFd ?? 'ignore'],
      // libuv empties the supplementary groups whenever uid or gid is set.
      ...(spec.runAs === null ? {} : { uid: spec.runAs.uid, gid: spec.runAs.gid }),
      ...(spec.cwd === null ? {} : { cwd: spec.cwd }),
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
  // 'exit', never 'close': a grandchild holding the program's pipes delays 'close' for
  // as long as it lives. Node destroys stdin just before it emits 'exit'.
  const exited = new Promise<ProgramExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal, killFailure: null }));
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

/** The umask fallback (see the module comment). `umask` is a number, so the script is fixed text. */
function withUmask(umask: number, file: string, args: readonly string[]): [string, readonly string[]] {
  const script = `umask ${umask.toString(8).padStart(4, '0')} && exec "$0" "$@"`;
  return ['/bin/sh', ['-c', script, file, ...args]];
}

function createRunningProgram(child: ChildProcess, stdin: Writable, exited: Promise<ProgramExit>): RunningProgram {
  const pid = child.pid;
  if (pid === undefined) throw new Error('bug: spawned program has no pid');
  return {
    pid,
    stdin,
    exited,
    // Also after the exit: Node has reaped the program, so this is the only way to reach
    // what it left in its group. If the whole group is gone too, the pid may have been
    // reused: the race the native spawner closes.
    killGroup: (signal) => signalGroup(pid, signal),
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
