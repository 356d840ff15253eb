// The portable spawner, and the fallback when the native addon is unavailable: the one call
// into node:child_process. Starts a program without a shell, leading its own session and
// process group, with exactly the given environment and stdio. Decides no policy
// (timeouts, what to write, what an exit means): run-program.ts does.
//
// Its cost: libuv fork()s the whole daemon and blocks the calling thread until exec, so
// each spawn costs more the more memory the process holds (REFERENCE.md section 5).

import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { errorCode, signalGroup, type ProgramExit, type RunningProgram, type Spawner, type StartResult } from './contract.js';

export const childProcessSpawner: Spawner = {
  name: 'child_process',
  startProgram(spec) {
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
    // 'exit', never 'close': a grandchild holding the program's pipes delays 'close' for
    // as long as it lives. Node destroys stdin just before it emits 'exit'.
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
  },
};

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
