// `smtpipe passwd [USER]`: reads a password from stdin and prints the Auth_Password_File
// line for it (`USER:$scrypt$...`, or the hash alone without USER). Reads no config and
// writes no file: the operator appends the line where the config's Auth_Password_File is.

import { formatPasswordHash, USER_NAME } from '../config/password-file.js';
import { hashPassword } from '../smtp/password-check.js';

export const PASSWD_USAGE = `Usage: smtpipe passwd [USER] < password

Reads a password from stdin (its first line, without the line ending) and prints
the line for Auth_Password_File: USER:$scrypt$N=16384,r=8,p=1$<salt>$<key>
(without USER, the hash alone). Example:
  printf '%s\\n' "$PASSWORD" | smtpipe passwd alice >> /etc/smtpipe/passwords
`;

/** The most a password may be; one line of stdin past this is refused, not cut. */
const MAX_PASSWORD_BYTES = 1024;

export interface PasswdIo {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** The exit status: 0, or 64 (EX_USAGE) for bad arguments or input. */
export async function runPasswd(args: readonly string[], io: PasswdIo): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(PASSWD_USAGE);
    return 0;
  }
  const [user, ...extra] = args;
  if (extra.length > 0 || (user !== undefined && !USER_NAME.test(user))) {
    io.stderr.write(`smtpipe passwd: ${extra.length > 0 ? 'one USER at most' : `${JSON.stringify(user)} is not a user name: letters, digits and . _ - + @ %, not starting with -`}\n\n${PASSWD_USAGE}`);
    return 64;
  }
  const password = await readFirstLine(io.stdin);
  if (password === null || password.length === 0) {
    io.stderr.write(`smtpipe passwd: ${password === null ? `the password is longer than ${MAX_PASSWORD_BYTES} bytes` : 'no password on stdin'}\n`);
    return 64;
  }
  // Decoded as smtp-server decodes what a client sends (UTF-8), so the two compare alike.
  const hash = formatPasswordHash(await hashPassword(password.toString('utf8')));
  io.stdout.write(user === undefined ? `${hash}\n` : `${user}:${hash}\n`);
  return 0;
}

/** The bytes before the first LF (a CR before it dropped); null when they run past MAX_PASSWORD_BYTES. */
async function readFirstLine(stdin: AsyncIterable<Buffer | string>): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const newline = bytes.indexOf(0x0a);
    chunks.push(newline < 0 ? bytes : bytes.subarray(0, newline));
    length += newline < 0 ? bytes.length : newline;
    if (length > MAX_PASSWORD_BYTES + 1) return null;
    if (newline >= 0) break;
  }
  let line = Buffer.concat(chunks);
  if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
  return line.length > MAX_PASSWORD_BYTES ? null : line;
}
