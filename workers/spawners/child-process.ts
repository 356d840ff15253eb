// The portable spawner, and the fallback when the native addon is unavailable: the one call
// into node:child_process. Starts a program without a shell, leading its own session and
// process group, with exactly the given environment and stdio. Decides no policy
// (timeouts, what to write, what an exit means): run-program.ts does.
//
// Its cost: libuv fork()s the whole daemon and blocks the calling thread until exec, so
// each spawn costs more the more memory the process holds outside the V8 heap: about 34 us
// of CPU per MB per spawn, ~28 spawns/s with 1 GB of Buffers held (docs/design.md,
// "Spawning programs without fork").
//
// Privileges: libuv's child does chdir, then setgroups(0, NULL), setgid, setuid, as the
// native spawner does. Node has no umask option, and process.umask() would change the whole
// daemon (and throws in a worker), so a umask goes through the wrapper shell of
// shell-wrapper.ts. A missing or unexecutable program would then show as the shell's exit
// 127 or 126, a code-mapped *exit*; access(X_OK) first turns the common cases back into
// ENOENT/EACCES start failures (451). It checks as smtpipe, not as the program's user: a
// file only root may run still comes back as 126.
//
// Outputs: Node cannot open a file in the child. A program that runs as we do (runAs null)
// gets files we open ourselves (output-files.ts: no symlink, FIFO, device nor hard link).
// For one that runs as another user the wrapper shell opens them after the id switch, as
// the program's user: it follows no symbolic link it did not check, but cannot refuse a
// hard link nor close the race between check and open (shell-wrapper.ts). It grants no
// privilege either way: it opens nothing the program could not open itself.

import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, type FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
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
import { closeQuietly, openOutputAsUs, ourUmask } from './output-files.js';
import { readRefusal, wrapInShell } from './shell-wrapper.js';

export const childProcessSpawner: Spawner = {
  name: 'child_process',
  async startProgram(spec) {
    const badIds = runAsProblem(spec.runAs);
    if (badIds !== null) return { ok: false, errorCode: 'ERR_SPAWN_INVALID_ARG', message: badIds };
    const shellOpens = spec.runAs !== null && (spec.stdout !== null || spec.stderr !== null);
    if (spec.umask !== null || shellOpens) {
      try {
        await access(spec.file, constants.X_OK);
      } catch (err) {
        return failure(err);
      }
    }
    if (shellOpens) {
      // The shell must restore the program's umask after creating files with their modes.
      const [file, args] = wrapInShell({ ...spec, umask: spec.umask ?? (await ourUmask()) });
      // The shell redirects only the streams that have a file; a captured one has none.
      return start(spec, file, args, [captureOr(spec, 'stdout', 'ignore'), captureOr(spec, 'stderr', 'ignore')], true);
    }
    const [file, args] = spec.umask === null ? [spec.file, spec.args] : wrapInShell({ ...spec, stdout: null, stderr: null });
    const handles: FileHandle[] = [];
    const fds: Array<number | 'ignore' | 'pipe'> = [];
    try {
      for (const stream of ['stdout', 'stderr'] as const) {
        const output = spec[stream];
        const opened = output === null ? null : await openOutputAsUs(stream, output, spec.umask);
        if (opened?.ok === false) return opened;
        if (opened !== null) handles.push(opened.handle);
        fds.push(opened?.handle.fd ?? captureOr(spec, stream, 'ignore'));
      }
      return await start(spec, file, args, fds, false);
    } finally {
      // The program holds its own copies (spawn() returns once it exec'd).
      await Promise.all(handles.map(closeQuietly));
    }
  },
};

function start(
  spec: ProgramSpec,
  file: string,
  args: readonly string[],
  outputs: ReadonlyArray<number | 'ignore' | 'pipe'>,
  shellOpens: boolean,
): Promise<StartResult> {
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      shell: false,
      // libuv calls setsid(): the program leads a new session and process group, so
      // killGroup reaches its children too, and it has no controlling terminal.
      detached: true,
      env: { ...spec.env },
      // fd 0: a pipe, or the given file (libuv dup2()s it: the program gets its own copy).
      // fd 3: the wrapper shell's refusals (shell-wrapper.ts), closed before it execs.
      stdio: [spec.stdinFile ?? 'pipe', ...outputs, ...(shellOpens ? ['pipe' as const] : [])],
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
  if ((stdin === null) !== (spec.stdinFile !== null)) throw new Error('bug: stdin of a spawned program is not what was asked');
  // The error is collected by whoever writes (run-program awaits finished(stdin)); this
  // listener only keeps an unobserved EPIPE from becoming an uncaught exception.
  stdin?.on('error', ignoreStdinError);
  // 'exit', never 'close': a grandchild holding the program's pipes delays 'close' for
  // as long as it lives. Node destroys stdin just before it emits 'exit'.
  const exit = new Promise<ProgramExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal, killFailure: null }));
  });
  // Bounded: only the shell holds fd 3, and it closes it before exec (or dies).
  const refusal = shellOpens ? readToEnd(child.stdio[3] as Readable).then(readRefusal) : Promise.resolve(null);
  const exited = Promise.all([exit, refusal]).then(([status, startFailure]) =>
    startFailure === null ? status : { ...status, startFailure },
  );
  return new Promise<StartResult>((resolve) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve({ ok: true, program: createRunningProgram(child, stdin, exited) });
    };
    // ENOENT/EACCES: 'error' and then 'close', but never 'spawn' nor 'exit'.
    const onError = (err: Error): void => {
      child.off('spawn', onSpawn);
      stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdio[3]?.destroy();
      resolve(failure(err));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

/** Everything a stream yields until its end, as text; never rejects. */
function readToEnd(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    const done = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    // 'close' follows 'end', and also an error (then what arrived still counts).
    stream.once('close', done);
    stream.on('error', () => {});
  });
}

function createRunningProgram(child: ChildProcess, stdin: Writable | null, exited: Promise<ProgramExit>): RunningProgram {
  const pid = child.pid;
  if (pid === undefined) throw new Error('bug: spawned program has no pid');
  // Node's pipes for stdout and stderr, when captured; an error is the reader's concern.
  child.stdout?.on('error', ignoreStdinError);
  child.stderr?.on('error', ignoreStdinError);
  return {
    pid,
    stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    // Also after the exit: Node has reaped the program, so this is the only way to reach
    // what it left in its group. If the whole group is gone too, the pid may have been
    // reused: the race the native spawner closes.
    killGroup: (signal) => signalGroup(pid, signal),
  };
}

/** A captured stream goes to a pipe of ours; else `otherwise`. */
function captureOr<T>(spec: ProgramSpec, stream: 'stdout' | 'stderr', otherwise: T): T | 'pipe' {
  return spec.capture[stream] ? 'pipe' : otherwise;
}

function ignoreStdinError(): void {
  // Deliberately empty: see the comment where it is attached.
}

function failure(err: unknown): { ok: false; errorCode: string; message: string } {
  const code = errorCode(err);
  return {
    ok: false,
    // Node's spawn() refuses a NUL byte with its own ERR_INVALID_ARG_VALUE: reported under
    // smtpipe's code, the same one the native spawner gives (src/errors.ts).
    errorCode: code === 'ERR_INVALID_ARG_VALUE' ? 'ERR_SPAWN_INVALID_ARG' : code ?? 'ERR_SPAWN_UNKNOWN',
    message: err instanceof Error ? err.message : String(err),
  };
}
