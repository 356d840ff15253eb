// scrypt (RFC 7914) for SMTP AUTH and `smtpipe passwd`: hashing a new password and
// checking one against Auth_Password_File. Always asynchronous (libuv's thread pool),
// so a check never blocks the event loop; keeps no state. Formats: src/config/password-file.ts.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { ScryptHash } from '../config/password-file.js';

/** What `smtpipe passwd` writes: scrypt's recommended interactive cost (16 MiB, tens of ms). */
export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

function derive(password: string | Buffer, hash: Pick<ScryptHash, 'N' | 'r' | 'p' | 'salt'>, keyBytes: number): Promise<Buffer> {
  // Node refuses more than maxmem (32 MiB by default); the file format caps 128*N*r at 256 MiB.
  const options: ScryptOptions = { N: hash.N, r: hash.r, p: hash.p, maxmem: 128 * hash.N * hash.r * hash.p + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, Buffer.from(hash.salt, 'base64'), keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string | Buffer): Promise<ScryptHash> {
  const base = { ...DEFAULT_SCRYPT, salt: randomBytes(SALT_BYTES).toString('base64') };
  return { ...base, key: (await derive(password, base, KEY_BYTES)).toString('base64') };
}

/**
 * A hash no password matches (its key is random), with the default cost: an unknown user
 * is checked against it, so that a reply takes as long whether the user exists or not.
 */
export function createDummyHash(): ScryptHash {
  return { ...DEFAULT_SCRYPT, salt: randomBytes(SALT_BYTES).toString('base64'), key: randomBytes(KEY_BYTES).toString('base64') };
}

/** `password` matches `hash`; compared in constant time. */
export async function verifyPassword(password: string | Buffer, hash: ScryptHash): Promise<boolean> {
  const expected = Buffer.from(hash.key, 'base64');
  return timingSafeEqual(await derive(password, hash, expected.length), expected);
}
