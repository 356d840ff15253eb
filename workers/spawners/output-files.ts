// What both spawners share about output_file / error_file: the words for a refusal, and the
// one open the worker itself may make (child_process, program in the daemon's own identity).
// Must never open a file on behalf of a program that runs as another identity.

import { constants, type FileHandle, open, readFile } from 'node:fs/promises';
import { getSystemErrorMap } from 'node:util';
import { errorCode, type OutputFile, type StartFailure } from './contract.js';

/**
 * As native/spawn.c opens in the child. O_NOFOLLOW: ELOOP for a symbolic link as the last
 * component. O_NONBLOCK: a FIFO without reader fails with ENXIO instead of blocking a libuv
 * pool thread forever (with a reader it opens, and the fstat below refuses it). Regular
 * files ignore O_NONBLOCK, so the program may keep the flag.
 */
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Codes of our own, beside the errno ones (stable, never reused). */
export const NOT_REGULAR = 'ERR_OUTPUT_NOT_REGULAR';
export const HARD_LINKED = 'ERR_OUTPUT_HARDLINKED';

const REASONS: ReadonlyMap<string, string> = new Map([
  ['ELOOP', 'is a symbolic link'],
  ['EISDIR', 'is a directory'],
  [NOT_REGULAR, 'is not a regular file (a FIFO, socket or device)'],
  [HARD_LINKED, 'is a file with more than one hard link'],
]);

/**
 * The refusal of one output, as a start failure. ENXIO is what opening a FIFO without
 * reader, a socket or a device without driver gives with O_NONBLOCK: the same refusal as
 * when fstat sees one.
 */
export function outputFailure(stream: 'stdout' | 'stderr', code: string, detail?: string): StartFailure {
  const errorCode = code === 'ENXIO' ? NOT_REGULAR : code;
  const known = REASONS.get(errorCode);
  const errno = [...getSystemErrorMap().values()].find(([name]) => name === errorCode)?.[1];
  const reason = known ?? (errno === undefined ? 'could not be opened' : `could not be opened: ${errno}`);
  const message = `${reason} (${code}${detail === undefined ? '' : `: ${detail}`})`;
  return { ok: false, errorCode, message, output: stream };
}

export type OpenedOutput = { readonly ok: true; readonly handle: FileHandle } | StartFailure;

/**
 * Opens an output in this process's own identity: only for a program that runs as the
 * daemon does (runAs null). `programUmask` non-null: a file this open creates gets
 * mode & ~programUmask, as it would in the program (O_EXCL tells whether we created it).
 */
export async function openOutputAsUs(stream: 'stdout' | 'stderr', file: OutputFile, programUmask: number | null): Promise<OpenedOutput> {
  let handle: FileHandle;
  let created = false;
  try {
    if (programUmask === null) {
      handle = await open(file.path, OPEN_FLAGS | constants.O_CREAT, file.mode);
    } else {
      ({ handle, created } = await createOrOpen(file.path, file.mode & ~programUmask));
    }
  } catch (err) {
    return outputFailure(stream, errorCode(err) ?? 'ERR_OUTPUT_OPEN', err instanceof Error ? undefined : String(err));
  }
  try {
    const stat = await handle.stat();
    const refusal = !stat.isFile() ? NOT_REGULAR : stat.nlink !== 1 ? HARD_LINKED : null;
    if (refusal === null) {
      if (created) await handle.chmod(file.mode & ~(programUmask ?? 0));
      return { ok: true, handle };
    }
    await closeQuietly(handle);
    return outputFailure(stream, refusal);
  } catch (err) {
    await closeQuietly(handle);
    return outputFailure(stream, errorCode(err) ?? 'ERR_OUTPUT_OPEN');
  }
}

/** O_EXCL first, so that only a file we created is chmod-ed; an existing one keeps its mode. */
async function createOrOpen(path: string, mode: number): Promise<{ handle: FileHandle; created: boolean }> {
  for (;;) {
    try {
      return { handle: await open(path, OPEN_FLAGS | constants.O_CREAT | constants.O_EXCL, mode), created: true };
    } catch (err) {
      // EEXIST also for a symbolic link (O_EXCL never follows): the next open says ELOOP.
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    try {
      return { handle: await open(path, OPEN_FLAGS), created: false };
    } catch (err) {
      // Removed in between (log rotation): create it after all.
      if (errorCode(err) !== 'ENOENT') throw err;
    }
  }
}

export async function closeQuietly(handle: FileHandle | null | undefined): Promise<void> {
  if (handle == null) return;
  try {
    await handle.close();
  } catch {
    // Handled by ignoring: on Linux the fd is released even when close() reports an error,
    // and the program wrote through its own copy, so nothing of the run is lost.
  }
}

/** This process's umask, read without process.umask() (which sets it to read it, racily). */
export async function ourUmask(): Promise<number> {
  const match = /^Umask:\s*([0-7]+)$/m.exec(await readFile('/proc/self/status', 'latin1'));
  if (match?.[1] === undefined) throw new Error('bug: no Umask line in /proc/self/status (Linux >= 4.7)');
  return parseInt(match[1], 8);
}
