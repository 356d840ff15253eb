// Whether an identity (uid, gid, supplementary groups) may search its way to a path and
// execute or write it, as the kernel would decide from mode bits; a denial is confirmed by
// the kernel itself before it is reported (ACLs). Load-time only: never on a delivery path.
// Reports outcomes as values; only a bug throws.

import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { access, constants, lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeFsError, fileType } from './regular-file.js';

/** Who a program runs as. groups: supplementary (none when smtpipe switches ids). */
export interface Identity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** How messages name it: `user "nobody"`, `smtpipe's own uid 1000`. */
  readonly label: string;
}

/** The process that runs the check: whose access(2) answers for itself, who may switch to test others. */
export interface Checker {
  readonly uid: number;
  readonly gid: number;
}

export type Access = 'execute' | 'write';

export type PathProblem =
  | { readonly kind: 'missing'; readonly message: string }
  | { readonly kind: 'not-file'; readonly message: string }
  | { readonly kind: 'denied'; readonly message: string };

/** stat results shared by the checks of one load: a directory used by ten transports is read once. */
export type StatCache = Map<string, Promise<Stats | NodeJS.ErrnoException>>;

const CONFIRM_TIMEOUT_MS = 10_000;

function cachedStat(cache: StatCache, file: string): Promise<Stats | NodeJS.ErrnoException> {
  let found = cache.get(file);
  if (found === undefined) {
    // Handled: an errno is a value here, turned into a problem by the caller.
    found = stat(file).catch((err: NodeJS.ErrnoException) => err);
    cache.set(file, found);
  }
  return found;
}

/**
 * The kernel's rule for mode bits (no ACLs, no capabilities but root's): root may search
 * and write anything and execute a file with any x bit; others get the owner's, else the
 * group's (primary or supplementary), else the others' bits.
 */
export function permits(info: Pick<Stats, 'mode' | 'uid' | 'gid'> & { isDirectory(): boolean }, who: Identity, bit: 1 | 2): boolean {
  if (who.uid === 0) return bit === 2 || info.isDirectory() || (info.mode & 0o111) !== 0;
  const shift = info.uid === who.uid ? 6 : info.gid === who.gid || who.groups.includes(info.gid) ? 3 : 0;
  return ((info.mode >> shift) & bit) !== 0;
}

export function describeMode(info: Pick<Stats, 'mode' | 'uid' | 'gid'>): string {
  return `mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${info.uid}:${info.gid}`;
}

/**
 * Every directory the kernel looks a name up in on the way to `file` must be searchable:
 * those of the path as written and, when a symbolic link leads elsewhere, of its target.
 * null: all of them are; else what stops the walk.
 */
async function walkProblem(file: string, who: Identity, cache: StatCache): Promise<PathProblem | null> {
  const dirs = ancestors(file);
  // Handled: an unresolvable path is reported by the walk over the path as written.
  const real = await realpath(file).catch(() => file);
  if (real !== file) dirs.push(...ancestors(real).filter((d) => !dirs.includes(d)));
  for (const dir of dirs) {
    const info = await cachedStat(cache, dir);
    if (info instanceof Error) {
      return { kind: 'missing', message: info.code === 'ENOENT' ? `no such directory: ${dir}` : `${dir}: ${describeFsError(info)}` };
    }
    if (!info.isDirectory()) return { kind: 'missing', message: `${dir} is ${fileType(info)}, not a directory` };
    if (!permits(info, who, 1)) {
      return { kind: 'denied', message: `${who.label} may not search the directory ${dir} (${describeMode(info)})` };
    }
  }
  return null;
}

/** "/a/b/c" -> ["/", "/a", "/a/b"]. */
function ancestors(file: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    out.unshift(dir);
    if (dir === path.dirname(dir)) return out;
  }
}

/** argv[0]: reachable, a regular file (after symbolic links), executable by `who`. */
export async function programProblem(program: string, who: Identity | null, checker: Checker, cache: StatCache): Promise<PathProblem | null> {
  const info = await cachedStat(cache, program);
  if (info instanceof Error && info.code !== 'EACCES') {
    return { kind: 'missing', message: info.code === 'ENOENT' ? `no such file: ${program}` : `${program}: ${describeFsError(info)}` };
  }
  if (!(info instanceof Error) && !info.isFile()) return { kind: 'not-file', message: `${program} is ${fileType(info)}, not a regular file` };
  if (who === null) return null;
  const walked = await walkProblem(program, who, cache);
  const problem =
    walked ?? (info instanceof Error || permits(info, who, 1) ? null : { kind: 'denied' as const, message: `not executable by ${who.label} (${describeMode(info)})` });
  return problem !== null && problem.kind === 'denied' && (await kernelAllows(program, 'execute', who, checker)) ? null : problem;
}

/**
 * output_file / error_file as the run opens it (O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW, then
 * refused unless a regular file with one link): its directory exists and is searchable; an
 * existing file is writable, else the directory is (the run creates the file).
 */
export async function outputFileProblem(file: string, who: Identity | null, checker: Checker, cache: StatCache): Promise<PathProblem | null> {
  const dir = path.dirname(file);
  const dirInfo = await cachedStat(cache, dir);
  if (dirInfo instanceof Error && dirInfo.code !== 'EACCES') {
    return { kind: 'missing', message: dirInfo.code === 'ENOENT' ? `no such directory: ${dir}` : `${dir}: ${describeFsError(dirInfo)}` };
  }
  if (!(dirInfo instanceof Error) && !dirInfo.isDirectory()) return { kind: 'missing', message: `${dir} is ${fileType(dirInfo)}, not a directory` };
  // Handled: ENOENT means the run will create it; other errors show in the walk below.
  const own = await lstat(file).catch((err: NodeJS.ErrnoException) => err);
  if (!(own instanceof Error)) {
    if (own.isSymbolicLink()) return { kind: 'not-file', message: `${file} is a symbolic link: a run refuses it` };
    if (!own.isFile()) return { kind: 'not-file', message: `${file} is ${fileType(own)}, not a regular file: a run refuses it` };
    if (own.nlink !== 1) return { kind: 'not-file', message: `${file} has ${own.nlink} hard links: a run refuses it` };
  }
  if (who === null) return null;
  const walked = await walkProblem(file, who, cache);
  let problem: PathProblem | null = walked;
  if (problem === null && !(own instanceof Error) && !permits(own, who, 2)) {
    problem = { kind: 'denied', message: `${file} is not writable by ${who.label} (${describeMode(own)})` };
  } else if (problem === null && own instanceof Error && !(dirInfo instanceof Error) && !permits(dirInfo, who, 2)) {
    problem = { kind: 'denied', message: `${file} does not exist and ${who.label} may not create it in ${dir} (${describeMode(dirInfo)})` };
  }
  const target = own instanceof Error ? dir : file;
  return problem !== null && problem.kind === 'denied' && (await kernelAllows(target, 'write', who, checker)) ? null : problem;
}

/**
 * The kernel's own answer, asked only after the mode bits said no, so that an ACL granting
 * access is not refused: access(2) when `who` is this process, else test(1) run as `who`
 * (root only can switch; it drops supplementary groups as the run does). When neither can
 * ask, the mode bits stand.
 */
async function kernelAllows(file: string, want: Access, who: Identity, checker: Checker): Promise<boolean> {
  const mode = want === 'execute' ? constants.X_OK : constants.W_OK;
  if (who.uid === checker.uid && who.gid === checker.gid) {
    // Handled: a refusal is the answer asked for.
    return access(file, mode).then(
      () => true,
      () => false,
    );
  }
  if (checker.uid !== 0) return false;
  return new Promise((resolve) => {
    const flag = want === 'execute' ? '-x' : '-w';
    execFile('test', [flag, file], { uid: who.uid, gid: who.gid, timeout: CONFIRM_TIMEOUT_MS }, (err) => resolve(err === null));
  });
}
