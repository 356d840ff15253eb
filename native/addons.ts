// Owns smtpipe's two native addons (native/spawn.c and native/line-endings.c, built by
// node-gyp into build/Release/): where they are, whether this platform can run them,
// loading them into the calling thread, and the spawner's self-test. A leaf: imports
// nothing from src/ or workers/ (both sides import it), decides no fallback, logs nothing.

import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** What native/spawn.c exports. */
export interface SpawnAddon {
  /** native/spawn.c's SPAWN_INTERFACE: the shape of spawn() this build takes. */
  readonly interface: number;
  /**
   * argv[0] is the path run. stdinFd -1 makes a pipe (its end comes back as stdinFd),
   * else the child gets that fd as its stdin (still ours to close; stdinFd comes back -1).
   * uid, gid, umask -1 and cwd null keep ours; uid and gid come together; a null path is
   * /dev/null. A negative errno when nothing was started, or { outputFd, error } when
   * opening that output failed (error: an errno or OUTPUT_ERRORS).
   */
  spawn(
    argv: readonly string[],
    envp: readonly string[],
    stdinFd: number,
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
    /**
     * Bit 1 stdout, bit 2 stderr: that stream goes to a new pipe (it must have no path),
     * whose non-blocking read end comes back as stdoutFd / stderrFd; -1 for the others.
     */
    capture: number,
  ):
    | { readonly pid: number; readonly stdinFd: number; readonly stdoutFd: number; readonly stderrFd: number }
    | { readonly outputFd: 1 | 2; readonly error: number }
    | number;
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

/** What native/line-endings.c exports: the C twins of workers/line-endings.ts's scans. */
export interface LineEndingsAddon {
  /** CRLF -> LF in place; the new length, or -1 (a bare CR or LF and not `normalize`). */
  toLf(bytes: Uint8Array, normalize: boolean): number;
  hasBareNewline(bytes: Uint8Array): boolean;
}

export type AddonLoad<Addon> = { readonly ok: true; readonly addon: Addon } | { readonly ok: false; readonly reason: string };

/** From dist/native/ up to the package root, where node-gyp builds. */
const BUILD_DIR = new URL('../../build/Release/', import.meta.url);
const SPAWN_FILE = fileURLToPath(new URL('smtpipe_spawn.node', BUILD_DIR));
const LINE_ENDINGS_FILE = fileURLToPath(new URL('smtpipe_line_endings.node', BUILD_DIR));

/**
 * native/spawn.c's SPAWN_INTERFACE, bumped with every change to spawn()'s arguments or
 * results (3: stdin fd and capture pipes). An addon left from an older build otherwise
 * loads, passes its self-test, and throws on every delivery.
 */
const SPAWN_INTERFACE = 3;

/** waitid(P_PIDFD) came with Linux 5.4 (pidfd_open with 5.3). */
const MIN_KERNEL: readonly [number, number] = [5, 4];

/** Loads the spawn addon into this thread (each thread gets its own instance of it). */
export function loadSpawnAddon(): AddonLoad<SpawnAddon> {
  if (process.platform !== 'linux') return { ok: false, reason: `posix_spawn + pidfd needs Linux, not ${process.platform}` };
  const kernel = /^(\d+)\.(\d+)/.exec(os.release());
  const [major, minor] = [Number(kernel?.[1] ?? 0), Number(kernel?.[2] ?? 0)];
  if (major < MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
    return { ok: false, reason: `Linux ${os.release()} is older than ${MIN_KERNEL.join('.')} (waitid P_PIDFD)` };
  }
  const loaded = load<SpawnAddon>(SPAWN_FILE);
  if (!loaded.ok || loaded.addon.interface === SPAWN_INTERFACE) return loaded;
  return {
    ok: false,
    reason: `addon built for spawn interface ${String(loaded.addon.interface)}, this smtpipe needs ${SPAWN_INTERFACE}: rebuild it (npm ci, or npm run build:native)`,
  };
}

/** Loads the line-endings addon into this thread; portable C, so no platform check. */
export function loadLineEndingsAddon(): AddonLoad<LineEndingsAddon> {
  return load<LineEndingsAddon>(LINE_ENDINGS_FILE);
}

/**
 * The spawner's start-up self-test, for the main thread: the addon loads and spawns
 * /bin/true end to end (posix_spawn, pidfd_open, a libuv poll handle on the pidfd,
 * waitid), and once more through the vfork path (in "/"). null = usable, else why not.
 */
export function probeSpawnAddon(): string | null {
  const loaded = loadSpawnAddon();
  if (!loaded.ok) return loaded.reason;
  const failure = loaded.addon.selfTest();
  return failure === null ? null : `self-test failed: ${failure}`;
}

function load<Addon>(file: string): AddonLoad<Addon> {
  try {
    return { ok: true, addon: createRequire(import.meta.url)(file) as Addon };
  } catch (err) {
    // Handled: the caller falls back (child_process, the JavaScript scans) and logs this
    // reason once. Only the first line: Node appends the require stack, noise in a log.
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return { ok: false, reason: `addon not loadable (${message})` };
  }
}
