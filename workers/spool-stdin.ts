// A spooled message as a program's stdin: each run gets its own read-only descriptor of the
// spool file, at offset 0, reopened through /proc/self/fd from the daemon's read-write one,
// and closed as soon as the program has started (it holds its own copy by then).
// Or, when a run has its own header before the message (LMTP), that descriptor read into
// a pipe after the header. Must not close, seek, read or write the daemon's descriptor.

import { open, type FileHandle } from 'node:fs/promises';
import type { RunOutcome } from './run-program.js';
import { errorCode, type Spawner } from './spawners/contract.js';

/**
 * Runs `run` with a fresh read-only descriptor of the spool file `fd` as its stdinFile.
 * Not the daemon's own fd: a shared file description shares its offset, so a second run
 * of the same message (one per recipient, issue 14) would start where the first stopped,
 * and the program could write to the spool through it. Reopening /proc/self/fd/N gives a
 * new description of the same inode (an O_TMPFILE file has no other name) with our own
 * mode; the program reads it in its own identity without needing access to the file.
 * A failing reopen is a spawn-failed outcome naming the spool file; never throws for it.
 */
export async function runWithSpoolStdin(
  spawner: Spawner,
  fd: number,
  run: (spawner: Spawner, stdinFile: number) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  const handle = await reopen(fd);
  if ('kind' in handle) return handle;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= handle.close());
  // Closed once the start settled, success or failure: a long run must not hold a
  // descriptor per message in the daemon (the program has its own copy from exec on).
  const closingSpawner: Spawner = {
    name: spawner.name,
    async startProgram(spec) {
      try {
        return await spawner.startProgram(spec);
      } finally {
        await close();
      }
    },
  };
  try {
    return await run(closingSpawner, handle.fd);
  } finally {
    // When the run threw (a bug) before starting anything.
    await close();
  }
}

/**
 * Runs `run` with a fresh read-only descriptor of the spool file `fd`, open until the run
 * ended: the worker copies it into the program's stdin pipe after a header of the run's
 * own (LMTP: each recipient's trace headers differ, the spool file holds none).
 */
export async function runWithSpoolPipe(fd: number, run: (tail: FileHandle) => Promise<RunOutcome>): Promise<RunOutcome> {
  const handle = await reopen(fd);
  if ('kind' in handle) return handle;
  try {
    return await run(handle);
  } finally {
    await handle.close();
  }
}

/** A new read-only description of the spool file, or the spawn-failed outcome naming it. */
async function reopen(fd: number): Promise<FileHandle | Extract<RunOutcome, { kind: 'spawn-failed' }>> {
  try {
    return await open(`/proc/self/fd/${fd}`, 'r');
  } catch (err) {
    const code = errorCode(err) ?? 'ERR_SPOOL_REOPEN';
    const reason = err instanceof Error ? err.message : String(err);
    return { kind: 'spawn-failed', errorCode: code, message: `reopening the spool file (fd ${fd}) for reading: ${reason}` };
  }
}
