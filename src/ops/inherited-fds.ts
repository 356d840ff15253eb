// Owns the hygiene of what programs inherit beyond stdio: file descriptors this process
// got from its parent without close-on-exec. libuv's spawn closes nothing above fd 2 and
// Node has no fcntl, so the only fix is to close them once, from the main thread at
// start-up; worker threads must never call closeLeakingFds (fds are process-wide).
//
// Node's start-up already marks inherited fds close-on-exec (uv_disable_stdio_inheritance),
// but best effort only: it stops at the first unused fd above 15, so fd 40 or 251 leak.

import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** O_CLOEXEC as /proc/<pid>/fdinfo shows it (octal flags, Linux on every architecture). */
const O_CLOEXEC = 0o2000000;

/**
 * Descriptors above 2 without close-on-exec: every program we start would inherit them
 * (a supervisor's pipe, a shell's redirection). Node and libuv open everything with
 * O_CLOEXEC, so these came from our parent. The IPC channel of child_process.fork
 * (NODE_CHANNEL_FD) is left alone.
 */
export function findLeakingFds(): number[] {
  const ipcFd = Number(process.env['NODE_CHANNEL_FD'] ?? -1);
  const leaking: number[] = [];
  for (const name of readdirSync('/proc/self/fdinfo')) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2 || fd === ipcFd) continue;
    const flags = readFlags(fd);
    if (flags !== null && (flags & O_CLOEXEC) === 0) leaking.push(fd);
  }
  return leaking.sort((a, b) => a - b);
}

/** Closes what findLeakingFds found and returns it (for the start-up log). */
export function closeLeakingFds(): number[] {
  const leaking = findLeakingFds();
  for (const fd of leaking) closeSync(fd);
  return leaking;
}

function readFlags(fd: number): number | null {
  let info: string;
  try {
    info = readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
  } catch {
    // Handled: the fd was closed meanwhile (or was the directory handle of the readdir).
    return null;
  }
  const match = /^flags:\s*([0-7]+)$/m.exec(info);
  return match?.[1] === undefined ? null : parseInt(match[1], 8);
}
