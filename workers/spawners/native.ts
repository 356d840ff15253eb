// The native spawner: wraps one spawn of the addon (native/spawn.c, loaded by
// native/addons.ts) into the RunningProgram of contract.ts: posix_spawn, or vfork when ids,
// directory, umask or an output file are set (the child opens outputs as the program).
// Must not load the addon, decide between spawners (select.ts and the pool do) nor log
// (workers have no logger: reasons are returned as values).
//
// Why it exists: posix_spawn does not copy the daemon's page tables the way fork() does, so
// its cost stays flat however much memory the daemon holds: ~85x child_process's rate with
// 1 GB of Buffers held (docs/design.md, "Spawning programs without fork").

import net from 'node:net';
import os from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { SpawnAddon } from '../../native/addons.js';
import { runAsProblem, signalGroup, type ProgramExit, type ProgramSpec, type Spawner, type StartResult } from './contract.js';
import { HARD_LINKED, NOT_REGULAR, outputFailure } from './output-files.js';

/** native/spawn.c's codes beyond the errnos (OUTPUT_NOT_REGULAR, OUTPUT_HARD_LINKED). */
const OUTPUT_ERRORS: ReadonlyMap<number, string> = new Map([
  [4096, NOT_REGULAR],
  [4097, HARD_LINKED],
]);

/** What glibc's execvp runs a file without "#!" with. */
const BOURNE_SHELL = '/bin/sh';

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(os.constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

export function createNativeSpawner(addon: SpawnAddon): Spawner {
  return {
    name: 'native',
    startProgram: (spec) => Promise.resolve(start(addon, spec)),
  };
}

function start(addon: SpawnAddon, spec: ProgramSpec): StartResult {
  const envp = Object.entries(spec.env).map(([name, value]) => `${name}=${value}`);
  const { runAs, cwd, umask } = spec;
  const badIds = runAsProblem(runAs);
  if (badIds !== null) return { ok: false, errorCode: 'ERR_SPAWN_INVALID_ARG', message: badIds };
  const paths = [spec.stdout?.path ?? '', spec.stderr?.path ?? ''];
  const nul = [spec.file, ...spec.args, ...envp, cwd ?? '', ...paths].find((text) => text.includes('\0'));
  if (nul !== undefined) {
    // C strings would silently cut at the NUL; child_process refuses the same way.
    return { ok: false, errorCode: 'ERR_SPAWN_INVALID_ARG', message: `a string holds a null byte: ${JSON.stringify(nul)}` };
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
      spec.stdinFile ?? -1,
      stdout?.path ?? null,
      stdout?.mode ?? 0,
      stderr?.path ?? null,
      stderr?.mode ?? 0,
      runAs?.uid ?? -1,
      runAs?.gid ?? -1,
      cwd,
      umask ?? -1,
      onExit,
      (spec.capture.stdout ? 1 : 0) | (spec.capture.stderr ? 2 : 0),
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
  const { pid, stdinFd, stdoutFd, stderrFd } = started;
  // A pipe fd becomes a libuv stream: same Writable behaviour as child_process's stdin.
  // None (-1) when stdinFile is the program's stdin.
  const stdin = stdinFd < 0 ? null : new net.Socket({ fd: stdinFd, readable: false, writable: true });
  if (stdin !== null) {
    state.stdin = stdin;
    // The error is collected by whoever writes; this only keeps an EPIPE from being uncaught.
    stdin.on('error', () => {});
  }
  return {
    ok: true,
    program: {
      pid,
      stdin,
      stdout: captureStream(stdoutFd),
      stderr: captureStream(stderrFd),
      exited,
      killGroup(signal) {
        // Once reaped, the group was killed already and the number may name another one.
        return state.reaped ? null : signalGroup(pid, signal);
      },
    },
  };
}

/** A capture pipe's read end as a libuv stream (-1: not captured). */
function captureStream(fd: number): net.Socket | null {
  if (fd < 0) return null;
  const stream = new net.Socket({ fd, readable: true, writable: false });
  // The reader collects errors it cares about; this only keeps one from being uncaught.
  stream.on('error', () => {});
  return stream;
}
