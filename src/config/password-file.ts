// Auth_Password_File: its format, pure (parsePasswordHash, parsePasswordFile), and its
// reading into the config snapshot (readPasswordFiles), so that --check, start-up and
// SIGHUP refuse a bad file the same way, at file:line. Does no hashing (src/smtp/password-check.ts).
//
// One `user:hash` per line; blank lines and lines starting with "#" are skipped. A hash is
// self-describing, so its cost can be raised later without a flag day:
//   $scrypt$N=16384,r=8,p=1$<salt, base64>$<key, base64>
// (the layout of PHC strings and of Django's/passlib's scrypt hashes: the parameters of
// RFC 7914 scrypt, a salt of at least 16 bytes, a derived key of 16 to 64 bytes).

import path from 'node:path';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { readRegularFile } from './regular-file.js';
import type { ListenerAuth, ListenerConfig, SourcePosition } from './types.js';

export interface ScryptHash {
  /** CPU/memory cost, a power of 2. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** Salt and derived key, base64 (text: a frozen config cannot hold a Buffer). */
  readonly salt: string;
  readonly key: string;
}

/** Memory one scrypt call may take (128 * N * r bytes): 256 MiB, far above the default's 16 MiB. */
export const SCRYPT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * User names: letters, digits and `. _ - + @ %` (an e-mail address works), not starting
 * with "-", at most 256 characters. They go into the Received: comment, log lines, argv
 * and the environment, so nothing there needs escaping and no argument becomes an option.
 */
export const USER_NAME = /^[A-Za-z0-9._+@%][A-Za-z0-9._+@%-]{0,255}$/;

const HASH = /^\$scrypt\$N=([0-9]{1,8}),r=([0-9]{1,3}),p=([0-9]{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** The hash, or why it is not one. */
export function parsePasswordHash(text: string): ScryptHash | string {
  const match = HASH.exec(text);
  if (match === null) return 'expected $scrypt$N=<n>,r=<r>,p=<p>$<salt base64>$<key base64> (smtpipe passwd writes one)';
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < 2 || (N & (N - 1)) !== 0) return `N=${N} is not a power of 2 of at least 2`;
  if (r < 1 || p < 1 || p > 16) return `r=${r},p=${p}: r must be at least 1 and p from 1 to 16`;
  if (128 * N * r > SCRYPT_MAX_MEMORY_BYTES) return `N=${N},r=${r} needs ${(128 * N * r) / 2 ** 20} MiB per check, more than 256 MiB`;
  const salt = Buffer.from(match[4] as string, 'base64');
  const key = Buffer.from(match[5] as string, 'base64');
  if (salt.length < 16) return `the salt is ${salt.length} bytes, fewer than 16`;
  if (key.length < 16 || key.length > 64) return `the key is ${key.length} bytes, not 16 to 64`;
  return { N, r, p, salt: salt.toString('base64'), key: key.toString('base64') };
}

export function formatPasswordHash(hash: ScryptHash): string {
  return `$scrypt$N=${hash.N},r=${hash.r},p=${hash.p}$${hash.salt}$${hash.key}`;
}

export interface PasswordFileProblem {
  readonly line: number;
  readonly message: string;
}

/** Users and their hashes, or every problem with its line. */
export function parsePasswordFile(text: string): { users: Map<string, ScryptHash>; problems: PasswordFileProblem[] } {
  const users = new Map<string, ScryptHash>();
  const problems: PasswordFileProblem[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const number = index + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) {
      problems.push({ line: number, message: 'expected user:hash' });
      continue;
    }
    const user = line.slice(0, colon);
    if (!USER_NAME.test(user)) {
      problems.push({ line: number, message: `user name ${JSON.stringify(user.slice(0, 64))} may hold only letters, digits and . _ - + @ % (1 to 256, not starting with -)` });
      continue;
    }
    const hash = parsePasswordHash(line.slice(colon + 1));
    if (typeof hash === 'string') problems.push({ line: number, message: `${user}: ${hash}` });
    else if (users.has(user)) problems.push({ line: number, message: `${user} is listed twice` });
    else users.set(user, hash);
  }
  return { users, problems };
}

/** The listeners with their password files read; one with a problem is left out, the problem goes to `sink`. */
export async function readPasswordFiles(listeners: readonly ListenerConfig[], sink: DiagnosticSink): Promise<ListenerConfig[]> {
  // One read per file, however many Listens name it.
  const reads = new Map<string, Promise<ListenerAuth['users'] | undefined>>();
  const out = await Promise.all(
    listeners.map(async (listener) => {
      const auth = listener.auth;
      if (auth === null) return listener;
      const file = path.resolve(path.dirname(auth.passwordFilePosition.file), auth.passwordFile);
      let read = reads.get(file);
      if (read === undefined) {
        read = readOne(file, auth.passwordFilePosition, sink);
        reads.set(file, read);
      }
      const users = await read;
      return users === undefined ? undefined : { ...listener, auth: { ...auth, users } };
    }),
  );
  return out.filter((l) => l !== undefined);
}

async function readOne(file: string, at: SourcePosition, sink: DiagnosticSink): Promise<Map<string, ScryptHash> | undefined> {
  const result = await readRegularFile(file);
  if (!result.ok) {
    const why = result.problem === 'not-regular' ? `${file} is ${result.reason}` : `cannot read ${file} (${result.code})`;
    sink.error(ConfigCode.AUTH, at, `Auth_Password_File: ${why}`);
    return undefined;
  }
  const { users, problems } = parsePasswordFile(result.text);
  // Positions name the password file itself, line by line, as an editor opens it.
  for (const problem of problems) sink.error(ConfigCode.AUTH, { file, line: problem.line, column: 1 }, `Auth_Password_File: ${problem.message}`);
  return problems.length > 0 ? undefined : users;
}
