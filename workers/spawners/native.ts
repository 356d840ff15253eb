// Owns the native addon (native/spawn.c, built into build/Release/smtpipe_spawn.node): the
// only module that loads it. Wraps one spawn (posix_spawn, or vfork when ids, directory,
// umask or an output file are set: the child opens outputs as the program) into the
// RunningProgram of contract.ts and runs the start-up self-test.
// Must not decide between spawners (select.ts and the pool do) nor log (workers have no
// logger: reasons are returned as values).
//
// Why it exists: posix_spawn does not copy the daemon's page tables the way fork() does, so
// its cost stays flat however much memory the daemon holds: ~85x child_process's rate with
// 1 GB of Buffers held (docs/design.md, "Spawning programs without fork").

import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { runAsProblem, signalGroup, type ProgramExit, type ProgramSpec, type Spawner, type StartResult } from './contract.js';
import { HARD_LINKED, NOT_REGULAR, outputFailure } from './output-files.js';

/** What native/spawn.c exports. */
interface Addon {
  /**
   * argv[0] is the path run. uid, gid, umask -1 and cwd null keep ours; uid and gid come
   * together; a null path is /dev/null. A negative errno when nothing was started, or
   * { outputFd, error } when opening that output failed (error: an errno or OUTPUT_ERRORS).
   */
  spawn(
    argv: readonly string[],
    envp: readonly string[],
    stdoutPath: string | null,
    stdoutMode: number,
    stderrPath: string | null,
    stderrMode: number,
    uid: number,
    gid: number,
    cwd: string | null,
    umask: number,
    /** killErrno: errno of the group kill sent before the reap, 0 when it reached someone. */
    onExit: (exitCode: number, signalNumber: number, killErrno: number) => void,
  ): { readonly pid: number; readonly stdinFd: number } | { readonly outputFd: 1 | 2; readonly error: number } | number;
  /** Spawns /bin/true through both paths, synchronously; null, or what failed. */
  selfTest(): string | null;
  /**
   * For the main thread at start-up (src/ops/hardening.ts): PR_SET_DUMPABLE 0 and
   * PR_SET_CHILD_SUBREAPER 1 on the whole process; null for each one made, else why not.
   */
  hardenProcess(): { readonly dumpable: string | null; readonly subreaper: string | null };
  /**
   * For the main thread only (src/ops/orphan-reaper.ts), on one of its own children: 0 an
   * orphan that runs, 1 an orphan that had exited (now reaped), 2 not an orphan (in the
   * daemon's session: libuv's to reap), or a negative errno (gone, not this thread's child).
   */
  reapOrphan(pid: number): number;
}

export type AddonLoad = { readonly ok: true; readonly addon: Addon } | { readonly ok: false; readonly reason: string };

/** From dist/workers/spawners/ up to the package root, where node-gyp builds. */
const ADDON_FILE = fileURLToPath(new URL('../../../build/Release/smtpipe_spawn.node', import.meta.url));

/** native/spawn.c's codes beyond the errnos (OUTPUT_NOT_REGULAR, OUTPUT_HARD_LINKED). */
const OUTPUT_ERRORS: ReadonlyMap<number, string> = new Map([
  [4096, NOT_REGULAR],
  [4097, HARD_LINKED],
]);

/** What glibc's execvp runs a file without "#!" with. */
const BOURNE_SHELL = '/bin/sh';

/** waitid(P_PIDFD) came with Linux 5.4 (pidfd_open with 5.3). */
const MIN_KERNEL: readonly [number, number] = [5, 4];

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(os.constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/** Loads the addon into this thread (each thread gets its own instance of it). */
export function loadAddon(): AddonLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `posix_spawn + pidfd needs Linux, not ${process.platform}` };
  const kernel = /^(\d+)\.(\d+)/.exec(os.release());
  const [major, minor] = [Number(kernel?.[1] ?? 0), Number(kernel?.[2] ?? 0)];
  if (major < MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
    return { ok: false, reason: `Linux ${os.release()} is older than ${MIN_KERNEL.join('.')} (waitid P_PIDFD)` };
  }
  try {
    return { ok: true, addon: createRequire(import.meta.url)(ADDON_FILE) as Addon };
  } catch (err) {
    // Handled: the caller falls back to child_process and logs this reason once.
    // Only the first line: Node appends the require stack, noise in a log line.
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return { ok: false, reason: `addon not loadable (${message})` };
  }
}

/**
 * The start-up self-test, for the main thread: the addon loads and spawns /bin/true end to
 * end (posix_spawn, pidfd_open, a libuv poll handle on the pidfd, waitid), and once more
 * through the vfork path (in "/"). null = usable.
 */
export function probeNativeSpawner(): string | null {
  const loaded = loadAddon();
  if (!loaded.ok) return loaded.reason;
  const failure = loaded.addon.selfTest();
  return failure === null ? null : `self-test failed: ${failure}`;
}

export function createNativeSpawner(addon: Addon): Spawner {
  return {
    name: 'native',
    startProgram: (spec) => Promise.resolve(start(addon, spec)),
  };
}

function start(addon: Addon, spec: ProgramSpec): StartResult {
  const envp = Object.entries(spec.env).map(([name, value]) => `${name}=${value}`);
  const { runAs, cwd, umask } = spec;
  const badIds = runAsProblem(runAs);
  if (badIds !== null) return { ok: false, errorCode: 'ERR_INVALID_ARG_VALUE', message: badIds };
  const paths = [spec.stdout?.path ?? '', spec.stderr?.path ?? ''];
  const nul = [spec.file, ...spec.args, ...envp, cwd ?? '', ...paths].find((text) => text.includes('\0'));
  if (nul !== undefined) {
    // C strings would silently cut at the NUL; child_process refuses the same way.
    return { ok: false, errorCode: 'ERR_INVALID_ARG_VALUE', message: `a string holds a null byte: ${JSON.stringify(nul)}` };
  }
  let settle!: (exit: ProgramExit) => void;
  const exited = new Promise<ProgramExit>((resolve) => (settle = resolve));
  // Filled in once spawn() returns: the exit callback only ever comes later, from the
  // addon's poll callback (after the group kill and the reap).
  const state: { stdin?: net.Socket; reaped: boolean } = { reaped: false };
  const onExit = (exitCode: number, signalNumber: number, killErrno: number): void => {
    state.reaped = true;
    // As child_process does before 'exit': writes still pending settle now.
    state.stdin?.destroy();
    const killFailure = killErrno === 0 ? null : getSystemErrorName(-killErrno);
    settle(
      exitCode >= 0
        ? { exitCode, signal: null, killFailure }
        : { exitCode: null, signal: SIGNAL_NAMES.get(signalNumber) ?? 'SIGKILL', killFailure },
    );
  };
  const { stdout, stderr } = spec;
  const spawn = (argv: readonly string[]) =>
    addon.spawn(
      argv,
      envp,
      stdout?.path ?? null,
      stdout?.mode ?? 0,
      stderr?.path ?? null,
      stderr?.mode ?? 0,
      runAs?.uid ?? -1,
      runAs?.gid ?? -1,
      cwd,
      umask ?? -1,
      onExit,
    );
  let started = spawn([spec.file, ...spec.args]);
  // A file without "#!" that execve refuses: child_process's execvp then hands it to
  // /bin/sh (as Postfix's pipe does); posix_spawn no longer does since glibc 2.15. Same here.
  if (started === -os.constants.errno.ENOEXEC) started = spawn([BOURNE_SHELL, spec.file, ...spec.args]);
  if (typeof started === 'number') {
    const code = getSystemErrorName(started);
    return { ok: false, errorCode: code, message: `spawn ${spec.file} ${code}` };
  }
  if ('outputFd' in started) {
    const { outputFd, error } = started;
    return outputFailure(outputFd === 1 ? 'stdout' : 'stderr', OUTPUT_ERRORS.get(error) ?? getSystemErrorName(-error));
  }
  const { pid, stdinFd } = started;
  // A pipe fd becomes a libuv stream: same Writable behaviour as child_process's stdin.
  const stdin = new net.Socket({ fd: stdinFd, readable: false, writable: true });
  state.stdin = stdin;
  // The error is collected by whoever writes; this only keeps an EPIPE from being uncaught.
  stdin.on('error', () => {});
  return {
    ok: true,
    program: {
      pid,
      stdin,
      exited,
      killGroup(signal) {
        // Once reaped, the group was killed already and the number may name another one.
        return state.reaped ? null : signalGroup(pid, signal);
      },
    },
  };
}
