// smtp-server's onAuth for one Listen (RFC 4954, PLAIN and LOGIN): checks the credentials
// against the Listen's Auth_Password_File snapshot, slows down a guesser and closes the
// session after too many failures. Knows nothing of mail; the user is smtp-server's
// session.user from here on (session-hooks.ts passes it to the MailPolicy).
//
// Failures: the 535 comes after 1 s, then 2 s, 4 s... (capped at 8 s); the third failure
// in a session gets 421 and the session closes. An unknown user is checked against a dummy
// hash of the default cost, so both replies take as long.

import type { Logger } from 'pino';
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { USER_NAME, type ScryptHash } from '../config/password-file.js';
import type { ListenerConfig } from '../config/types.js';
import type { PipeConnection } from './connection.js';
import { createDummyHash, verifyPassword } from './password-check.js';
import type { Transaction } from './policy.js';
import { toRejection, type SmtpReply } from './reply.js';

export const REPLY_AUTH_INVALID: SmtpReply = { code: 535, text: '5.7.8 Authentication credentials invalid', reason: 'auth-failed' };
export const REPLY_AUTH_TOO_MANY: SmtpReply = { code: 421, text: '4.7.0 too many authentication failures, closing' };

/** Failed AUTH commands a session may make; the last one gets REPLY_AUTH_TOO_MANY. */
export const AUTH_FAILURE_LIMIT = 3;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 8000;

/** Before the reply to the n-th failure (1-based): 1 s, 2 s, 4 s, 8 s, 8 s... */
export function failureDelayMs(failures: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** (failures - 1), MAX_DELAY_MS);
}

export interface AuthParts {
  readonly config: () => ListenerConfig;
  readonly logger: Logger;
  readonly connectionOf: (session: SMTPServerSession) => PipeConnection<Transaction> | undefined;
}

type AuthCallback = (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void;

export function createAuthHook(parts: AuthParts): (auth: SMTPServerAuthentication, session: SMTPServerSession, callback: AuthCallback) => void {
  const { config, logger, connectionOf } = parts;
  const dummy = createDummyHash();
  /** Failed AUTH commands per session (the session object lives as long as its connection). */
  const failures = new WeakMap<SMTPServerSession, number>();

  return (auth, session, callback) => {
    const user = auth.username ?? '';
    const mechanism = auth.method === 'PLAIN' || auth.method === 'LOGIN';
    // RFC 4616: an authorization identity other than the authenticated one asks to act as
    // someone else, which no password file line allows.
    const proxying = auth.method === 'PLAIN' && auth.authzid !== undefined && auth.authzid !== '' && auth.authcid !== '' && auth.authzid !== auth.authcid;
    const hash: ScryptHash | undefined = mechanism && USER_NAME.test(user) && !proxying ? config().auth?.users?.get(user) : undefined;
    const password = auth.password ?? '';
    verifyPassword(password, hash ?? dummy).then(
      (match) => {
        const log = { session: session.id, client: session.remoteAddress, method: auth.method, user: user.slice(0, 256) };
        if (match && hash !== undefined) {
          logger.info(log, 'authenticated');
          return callback(null, { user });
        }
        const count = (failures.get(session) ?? 0) + 1;
        failures.set(session, count);
        const closing = count >= AUTH_FAILURE_LIMIT;
        logger.warn({ ...log, failures: count, known: hash !== undefined }, closing ? 'authentication failed: too many failures, closing' : 'authentication failed');
        connectionOf(session)?.onRefusal('auth', REPLY_AUTH_INVALID);
        setTimeout(() => {
          if (!closing) return callback(toRejection(REPLY_AUTH_INVALID));
          callback(toRejection(REPLY_AUTH_TOO_MANY));
          connectionOf(session)?.close();
        }, failureDelayMs(count)).unref();
      },
      (error: unknown) => {
        // scrypt refused its parameters: the file format bounds them, so this is a bug.
        logger.error({ err: error, session: session.id }, 'password check threw');
        callback(toRejection({ code: 454, text: '4.7.0 temporary authentication failure' }));
      },
    );
  };
}
