// Reads the files a config names (the config itself, includes, TLS files) only when they
// are regular files. A FIFO would block the read until a writer comes (and with it
// --check, start-up and every later reload, which run one at a time); a device can feed
// it without end. Knows no config syntax and reports problems as values, never throws.

import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export type FileRead =
  | { readonly ok: true; readonly text: string }
  /** The path could not be examined, opened or read: ENOENT, EACCES, EISDIR... */
  | { readonly ok: false; readonly problem: 'unreadable'; readonly code: string; readonly reason: string }
  /** It exists and is something else than a regular file: `a FIFO`, `a directory`... */
  | { readonly ok: false; readonly problem: 'not-regular'; readonly code: 'ENOTREG'; readonly reason: string };

/**
 * stat first, so that nothing else is ever opened (opening a tty or a tape device acts on
 * it); then open with O_NONBLOCK and check again on the descriptor, in case the path was
 * swapped for a FIFO in between: a non-blocking open of a FIFO returns at once.
 */
export async function readRegularFile(file: string): Promise<FileRead> {
  try {
    const before = await stat(file);
    if (!before.isFile()) return notRegular(before);
    const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) return notRegular(opened);
      return { ok: true, text: await handle.readFile('utf8') };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { ok: false, problem: 'unreadable', code: e.code ?? 'error', reason: describeFsError(e) };
  }
}

function notRegular(stats: Stats): FileRead {
  return { ok: false, problem: 'not-regular', code: 'ENOTREG', reason: `${fileType(stats)}, not a regular file` };
}

/** What a non-regular file is, for messages: "a FIFO", "a character device"... */
export function fileType(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  return 'of an unknown type';
}

/** `ENOENT: no such file or directory` -> "no such file or directory (ENOENT)". */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a path component is not a directory',
  };
  const known = e.code === undefined ? undefined : messages[e.code];
  return known === undefined ? String(e.message ?? err) : `${known} (${e.code})`;
}
