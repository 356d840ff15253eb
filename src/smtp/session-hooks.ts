// smtp-server's hooks for one Listen, onSecure and onConnect to onData: check the
// session's limits (session-limits.ts), read DATA (read-message.ts) and ask the MailPolicy
// for every decision about mail. Knows no transport, program or routing rule.

import type { Logger } from 'pino';
import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { ListenerConfig } from '../config/types.js';
import type { ClientCertificates } from './client-certificates.js';
import type { PipeConnection } from './connection.js';
import type { ClientCertificate, MailPolicy, SessionInfo, Transaction } from './policy.js';
import { declaredSize, readMessage } from './read-message.js';
import type { RefusalReason, RefusalStage } from './refusal-reasons.js';
import type { Refusals } from './refusal-log.js';
import { toRejection, type SmtpReply } from './reply.js';
import { REPLY_SHUTTING_DOWN } from './session-admission.js';
import { mailRefusal, rcptRefusal } from './session-limits.js';
import { createPeerTable, type PeerMatch, type PeerTable } from './peer-table.js';

const REPLY_TOO_BIG: SmtpReply = { code: 552, text: '5.3.4 message size limit exceeded', reason: 'size' };
const REPLY_MESSAGE_THROTTLE: SmtpReply = { code: 450, text: '4.7.1 too many messages from your address, try again later', reason: 'message-throttle' };
const REPLY_NO_TRANSACTION: SmtpReply = { code: 503, text: '5.5.1 MAIL FROM first' };
const REPLY_DATA_TOO_SLOW: SmtpReply = { code: 421, text: '4.4.2 DATA took too long, closing' };
const REPLY_LOCAL_ERROR: SmtpReply = { code: 451, text: '4.3.0 local error in processing' };
// RFC 4954 6: Require_Auth.
const REPLY_AUTH_REQUIRED: SmtpReply = { code: 530, text: '5.7.0 Authentication required', reason: 'auth-required' };
/** A Peer with Enable = false (Momentum's reply text for access refusals). */
export const REPLY_ACCESS_DENIED: SmtpReply = { code: 554, text: '5.7.1 access denied', reason: 'access-denied' };
/** RFC 3207 4: Require_TLS and no TLS yet. */
export const REPLY_TLS_REQUIRED: SmtpReply = { code: 530, text: '5.7.0 Must issue a STARTTLS command first', reason: 'tls-required' };

type Callback = (err?: Error | null) => void;

export type SessionHooks = Required<Pick<SMTPServerOptions, 'onSecure' | 'onConnect' | 'onMailFrom' | 'onRcptTo' | 'onData'>>;

export interface HookParts {
  /** The Listen's config now (a reload swaps it). */
  readonly config: () => ListenerConfig;
  readonly draining: () => boolean;
  readonly policy: MailPolicy;
  readonly logger: Logger;
  readonly certificates: ClientCertificates;
  readonly connectionOf: (session: SMTPServerSession) => PipeConnection<Transaction> | undefined;
  /** Where every refusal goes to be logged and counted (refusal-log.ts). */
  readonly refusals: Refusals;
  /** Counts a MAIL of this client against Inbound_Throttle_Messages; false: over it. */
  readonly throttleMessage: (client: string) => boolean;
}

/** Sends `reply` and closes the session (smtp-server's own reply path, so it is counted). */
export function sendAndClose(connection: PipeConnection<Transaction>, reply: SmtpReply): void {
  connection.send(reply.code, reply.text, false);
  connection.close();
}

export function createSessionHooks(parts: HookParts): SessionHooks {
  const { config, draining, policy, logger, certificates, connectionOf, refusals, throttleMessage } = parts;
  /** Every 4xx/5xx a hook answers with is a refusal: logged and counted, then sent. */
  const refuse = (stage: RefusalStage, session: SMTPServerSession, reply: SmtpReply, otherwise?: RefusalReason) => {
    refusals.record(stage, reply, session.remoteAddress, { session: session.id, reason: reply.reason ?? otherwise });
    return toRejection(reply);
  };
  /** RCPT commands per transaction (Max_Recipients_Per_Message); a new MAIL starts a new key. */
  const rcptCommands = new WeakMap<Transaction, number>();
  /** RCPT answered 250 per transaction: an LMTP reply to DATA is one line for each (RFC 2033 4.2). */
  const rcptAccepted = new WeakMap<Transaction, number>();
  /** One Peer table per Listen config; a reload's new config gets its own. */
  const tables = new WeakMap<ListenerConfig, PeerTable>();
  /** Each session's Peer match, for the config it was made under. */
  const matches = new WeakMap<SMTPServerSession, { base: ListenerConfig; match: PeerMatch }>();
  /**
   * The session's options under its Peer scope (src/smtp/peer-table.ts), judged by the
   * client address (behind PROXY, the header's). Once per session; again only after a
   * reload, so a session follows the new values from its next command as before.
   */
  const peerOf = (session: SMTPServerSession): PeerMatch => {
    const base = config();
    const known = matches.get(session);
    if (known?.base === base) return known.match;
    let table = tables.get(base);
    if (table === undefined) tables.set(base, (table = createPeerTable(base)));
    const match = table.match(session.remoteAddress);
    matches.set(session, { base, match });
    const connection = connectionOf(session);
    if (connection) connection.sizeLimit = match.config.maxMessageBytes;
    return match;
  };
  /** A refusal a Peer's options decided: counted and logged as every refusal, naming the Peer. */
  const refused = (stage: RefusalStage, session: SMTPServerSession, reply: SmtpReply, detail: string, peer: string | null): Error => {
    refusals.record(stage, reply, session.remoteAddress, { session: session.id, message: 'refused', fields: { peer, detail } });
    return toRejection(reply);
  };

  return {
    onSecure: (socket, session, callback) => certificates.onSecure(socket, session, callback),
    // Every limit was checked when the socket was accepted (session-admission.ts); a
    // drain that began during the TLS handshake or greeting pause still refuses here.
    // A Peer with Enable = false gets 554 instead of the greeting, and smtp-server closes.
    onConnect(session, callback) {
      if (draining()) return callback(refuse('connect', session, REPLY_SHUTTING_DOWN));
      const match = peerOf(session);
      callback(match.enabled ? null : refused('connect', session, REPLY_ACCESS_DENIED, 'access denied (Peer Enable = false)', match.peer));
    },
    onMailFrom(address, session, callback: Callback) {
      const state = connectionOf(session)?.state;
      if (!state) return callback(new Error('session without connection state'));
      state.transaction = undefined;
      const { config: options, peer } = peerOf(session);
      // Implicit TLS (Use_SSL) counts: session.secure is true from the first byte.
      if (options.requireTls && !session.secure) return callback(refused('mail', session, REPLY_TLS_REQUIRED, 'TLS required (Require_TLS)', peer));
      if (options.requireAuth && authUser(session) === null) return callback(refused('mail', session, REPLY_AUTH_REQUIRED, 'authentication required (Require_Auth)', peer));
      // The SIZE smtp-server checks is the largest of the Listen's and its Peers' limits (listener.ts).
      const declared = address.args !== false ? Number(address.args?.['SIZE'] ?? 0) : 0;
      if (declared > options.maxMessageBytes) return callback(refused('mail', session, REPLY_TOO_BIG, 'declared SIZE over Max_Message_Size', peer));
      const refusal =
        certificates.mailRefusal(session) ??
        mailRefusal(options, state.receptions, address.args) ??
        (throttleMessage(session.remoteAddress) ? null : REPLY_MESSAGE_THROTTLE);
      if (refusal) return callback(refuse('mail', session, refusal));
      // From this command's own parameters: smtp-server's envelope.smtpUtf8 outlives a refused MAIL.
      const smtputf8 = options.smtputf8 && address.args !== false && address.args?.['SMTPUTF8'] === true;
      const result = policy.startTransaction(sessionInfo(session, options, certificates.of(session), state, smtputf8), address.address);
      if ('code' in result) return callback(refuse('mail', session, result));
      state.transaction = result;
      callback();
    },
    onRcptTo(address, session, callback: Callback) {
      const connection = connectionOf(session);
      const state = connection?.state;
      const transaction = state?.transaction;
      if (!connection || !state || !transaction) return callback(toRejection(REPLY_NO_TRANSACTION));
      const count = (rcptCommands.get(transaction) ?? 0) + 1;
      rcptCommands.set(transaction, count);
      const limit = rcptRefusal(peerOf(session).config, count, state.recipients, address.args);
      if (limit) return callback(refuse('rcpt', session, limit));
      const answer = (refusal: SmtpReply | undefined, otherwise?: RefusalReason) => {
        if (!refusal) {
          state.recipients += 1;
          rcptAccepted.set(transaction, (rcptAccepted.get(transaction) ?? 0) + 1);
        }
        callback(refusal ? refuse('rcpt', session, refusal, otherwise) : null);
      };
      const result = transaction.addRecipient(address.address, connection.closedSignal);
      // smtp-server reads the next command only after this callback, so an asynchronous
      // answer keeps pipelined RCPTs (and the counts above) in order.
      if (!(result instanceof Promise)) return answer(result);
      result.then((refusal) => answer(refusal, 'recipient-check'), (error: unknown) => {
        logger.error({ err: error, session: session.id }, 'recipient check threw');
        callback(toRejection(REPLY_LOCAL_ERROR));
      });
    },
    onData(stream, session, callback) {
      const connection = connectionOf(session);
      const transaction = connection?.state.transaction;
      if (!connection || !transaction) {
        stream.resume();
        return callback(toRejection(REPLY_NO_TRANSACTION));
      }
      connection.state.transaction = undefined;
      connection.state.delivering = true;
      const lmtpReplies = config().protocol === 'lmtp' ? (rcptAccepted.get(transaction) ?? 0) : 0;
      const finish = (reply: SmtpReply | readonly SmtpReply[] | null, error?: Error) => {
        connection.state.delivering = false;
        // LMTP: one reply per accepted RCPT, in order; a reply for the whole message (too
        // big, local error) is repeated for each. smtp-server sends an array's entries as
        // they are: a string as 250, an Error with its responseCode.
        if (reply === null) callback(error);
        else if (lmtpReplies > 0) {
          const replies = isReplyList(reply) ? reply : Array.from({ length: lmtpReplies }, () => reply);
          callback(null, replies.map(toDataResult));
        } else {
          // One reply in SMTP (a list here would be a policy bug: never several 250 lines).
          const single = isReplyList(reply) ? REPLY_LOCAL_ERROR : reply;
          // smtp-server's success path always says 250; any other code (a 2xx from a code
          // map, 4xx, 5xx) goes out as given through the rejection path.
          if (single.code === 250) callback(null, single.text);
          else callback(toRejection(single));
        }
        if (draining()) setImmediate(() => sendAndClose(connection, REPLY_SHUTTING_DOWN));
      };
      const { maxMessageBytes, maxDataMs } = peerOf(session).config;
      // A declared SIZE past the limit is refused at MAIL: what is left sizes nothing above it.
      const intake = transaction.openMessage(Math.min(declaredSize(session), maxMessageBytes));
      readMessage(stream, intake, {
        deadlineMs: maxDataMs,
        onDeadline: () => sendAndClose(connection, REPLY_DATA_TOO_SLOW),
      }).then(
        (result) => {
          connection.state.receptions += 1;
          if (result === 'too-big') {
            refusals.record('data', REPLY_TOO_BIG, session.remoteAddress, { session: session.id });
            return finish(REPLY_TOO_BIG);
          }
          // The client may leave before its reply: a program not started yet then never is.
          intake.deliver(connection.closedSignal).then(
            (reply) => finish(reply),
            (error: unknown) => {
              logger.error({ err: error, session: session.id }, 'delivery threw');
              finish(REPLY_LOCAL_ERROR);
            },
          );
        },
        // The client went away mid-DATA (or was cut at the deadline): nothing runs.
        (error: Error) => finish(null, error),
      );
    },
  };
}

function isReplyList(reply: SmtpReply | readonly SmtpReply[]): reply is readonly SmtpReply[] {
  return Array.isArray(reply);
}

/** One entry of smtp-server's LMTP reply array: text for a 250, else the rejection. */
function toDataResult(reply: SmtpReply): string | Error {
  return reply.code === 250 ? reply.text : toRejection(reply);
}

function sessionInfo(
  session: SMTPServerSession,
  config: ListenerConfig,
  clientCertificate: ClientCertificate | null,
  scope: object,
  smtputf8: boolean,
): SessionInfo {
  const protocol = session.transmissionType || 'SMTP';
  return {
    sessionId: session.id,
    clientAddress: session.remoteAddress,
    clientHelo: session.hostNameAppearsAs || '',
    // RFC 6531 3.7.3: UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA in the Received line.
    protocol: smtputf8 ? protocol.replace(/^ESMTP/, 'UTF8SMTP') : protocol,
    receivedBy: config.bannerHostname,
    bareNewlines: config.bareNewlines,
    smtputf8,
    tls: session.tlsOptions ? `${session.tlsOptions.version} ${session.tlsOptions.standardName || session.tlsOptions.name}` : null,
    clientCertificate,
    authUser: authUser(session),
    scope,
  };
}

/** The user a successful AUTH named (session-auth.ts), else null. */
function authUser(session: SMTPServerSession): string | null {
  const user: unknown = session.user;
  return typeof user === 'string' ? user : null;
}
