// Spool_Directory: anonymous files that hold messages too large for memory. Each is
// created without a name (O_TMPFILE; where the filesystem has none, created and unlinked
// at once), 0600, owned by the daemon, so that no exit, not even kill -9, leaves one behind:
// closing the last descriptor frees it. Knows nothing of messages: bytes in, a descriptor out.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const open = promisify(fs.open);
const unlink = promisify(fs.unlink);
const writev = promisify(fs.writev);

/**
 * Linux's O_TMPFILE: __O_TMPFILE | O_DIRECTORY. __O_TMPFILE is 020000000 on every
 * architecture Node runs Linux on (x86, arm, arm64, ppc, s390, riscv, mips); Node exports
 * O_DIRECTORY, which differs between them.
 */
const O_TMPFILE = 0o20000000 | fs.constants.O_DIRECTORY;
const { O_RDWR, O_EXCL, O_CREAT, O_NOFOLLOW } = fs.constants;
/** O_EXCL with O_TMPFILE: the file can never be linked into the filesystem (open(2)). */
const TMPFILE_FLAGS = O_TMPFILE | O_RDWR | O_EXCL;
const NAMED_FLAGS = O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW;
const FILE_MODE = 0o600;
/** open(2)'s answers when the filesystem (or kernel) has no O_TMPFILE. */
const NO_TMPFILE = new Set(['EOPNOTSUPP', 'EISDIR', 'EINVAL']);

export interface SpoolFile {
  /** Read-write, close-on-exec (Node opens every file so). */
  readonly fd: number;
  /** Bytes written so far. */
  readonly size: number;
  /** Appends `chunks` in one writev where it can; rejects with the errno (ENOSPC, EDQUOT, EIO). */
  append(chunks: readonly Uint8Array[]): Promise<void>;
  /** Frees the file (its last descriptor). Errors are of no use here and are dropped. */
  close(): void;
}

export interface Spool {
  readonly directory: string;
  /**
   * How files are kept nameless: 'tmpfile' (they never have a name) or, on a filesystem
   * without O_TMPFILE, 'unlinked' (named for one syscall). Known after the first create().
   */
  readonly method: 'tmpfile' | 'unlinked';
  /** A new empty file; rejects with the errno (EACCES, ENOENT, ENOSPC, EMFILE...). */
  create(): Promise<SpoolFile>;
}

export function createSpool(directory: string): Spool {
  let method: Spool['method'] = 'tmpfile';
  const openNameless = async (): Promise<number> => {
    if (method === 'unlinked') return createUnlinked(directory);
    try {
      return await open(directory, TMPFILE_FLAGS, FILE_MODE);
    } catch (err) {
      if (!NO_TMPFILE.has(codeOf(err))) throw err;
      method = 'unlinked';
      return createUnlinked(directory);
    }
  };
  return {
    directory,
    get method() {
      return method;
    },
    create: async () => spoolFile(await openNameless()),
  };
}

/** Creates and frees one file: the directory takes spool files (rejects with the errno if not). */
export async function probeSpool(spool: Spool): Promise<void> {
  const file = await spool.create();
  file.close();
}

async function createUnlinked(directory: string): Promise<number> {
  const name = path.join(directory, `.smtpipe-spool-${process.pid}-${randomBytes(8).toString('hex')}`);
  const fd = await open(name, NAMED_FLAGS, FILE_MODE);
  try {
    await unlink(name);
  } catch (err) {
    fs.close(fd, () => {});
    throw err;
  }
  return fd;
}

function spoolFile(fd: number): SpoolFile {
  let size = 0;
  let closed = false;
  return {
    fd,
    get size() {
      return size;
    },
    async append(chunks) {
      let pending = chunks.filter((chunk) => chunk.byteLength > 0);
      while (pending.length > 0) {
        const { bytesWritten } = await writev(fd, pending as Uint8Array[], size);
        size += bytesWritten;
        // A short write (the disk filled up mid-way): the next call returns the errno.
        pending = dropWritten(pending, bytesWritten);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      fs.close(fd, () => {});
    },
  };
}

function dropWritten(chunks: readonly Uint8Array[], written: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = written;
  for (const chunk of chunks) {
    if (skip >= chunk.byteLength) {
      skip -= chunk.byteLength;
      continue;
    }
    rest.push(skip === 0 ? chunk : chunk.subarray(skip));
    skip = 0;
  }
  return rest;
}

export function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'EIO';
}
