// One Listen: an smtp-server instance with our hooks. Owns the session life cycle
// (limits, size, reading DATA into one buffer, draining on shutdown) and hands every
// decision about mail to the MailPolicy.
//
// Socket states: accepted (counted from here: session-admission.ts) -> [PROXY header]
// -> [TLS handshake] -> [greeting pause] -> connected -> (MAIL) in transaction -> (DATA)
// busy -> reply -> connected. A busy session is never cut by a drain; an idle one gets
// 421 at once.

import { BlockList, isIPv4, isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { sameListenAddress } from '../config/listen-address.js';
import type { ListenerConfig } from '../config/types.js';
import { PipeServer, type PipeConnection } from './connection.js';
import type { ClientCertificate, MailPolicy, SessionInfo, Transaction } from './policy.js';
import { clientCertificateOptions, createClientCertificates } from './client-certificates.js';
import { MessageBuffer } from './message-buffer.js';
import { toRejection, type SmtpReply } from './reply.js';
import { createSessionAdmission, REPLY_SHUTTING_DOWN, type AdmissionObserver, type SessionSlots } from './session-admission.js';

export type { SessionSlots } from './session-admission.js';

export interface Listener {
  /** The config new sessions and transactions follow (reconfigure() swaps it). */
  readonly config: ListenerConfig;
  listen(): Promise<AddressInfo>;
  /** Where it listens, once listen() resolved. */
  readonly address: AddressInfo | null;
  /**
   * Applies a reloaded Listen with the same address and TLS mode (see canReconfigure):
   * limits, banner, certificate. Sessions keep running; each reads the new values from
   * its next command on, and a transaction already started keeps its routing.
   */
  reconfigure(next: ListenerConfig): void;
  /** Open sessions, counted from accept (a TLS handshake, greeting pause or PROXY wait too). */
  readonly sessions: number;
  /** Stops accepting, closes idle sessions with 421; busy ones close after their reply. */
  drain(): void;
  /** 421 and close for every session, busy or not. */
  closeAll(): void;
  /** Resolves once the server is closed and no session is left. */
  closed(): Promise<void>;
}

type Callback = (err?: Error | null) => void;

const REPLY_TOO_MANY_RECIPIENTS: SmtpReply = { code: 452, text: '4.5.3 too many recipients' };
const REPLY_TOO_BIG: SmtpReply = { code: 552, text: '5.3.4 message size limit exceeded' };
const REPLY_NO_TRANSACTION: SmtpReply = { code: 503, text: '5.5.1 MAIL FROM first' };
const REPLY_SESSION_MESSAGES: SmtpReply = { code: 421, text: '4.7.0 too many messages in this session, reconnect' };
const REPLY_SESSION_RECIPIENTS: SmtpReply = { code: 452, text: '4.5.3 too many recipients in this session' };
const REPLY_DATA_TOO_SLOW: SmtpReply = { code: 421, text: '4.4.2 DATA took too long, closing' };
const REPLY_UNTRUSTED_PROXY: SmtpReply = { code: 421, text: '4.7.0 connections here must come through a trusted proxy' };

const PREALLOCATE_MAX_BYTES = 1024 * 1024;

/** ESMTP parameters we advertise support for (RFC 1870 SIZE, RFC 6152 BODY); RCPT has none. */
const MAIL_PARAMETERS = new Set(['SIZE', 'BODY']);
const NO_PARAMETERS = new Set<string>();

/** RFC 5321 4.1.1.11: an unrecognized parameter gets 555; none reaches a program. */
function unknownParameter(args: Record<string, unknown> | false | undefined, allowed: Set<string>): SmtpReply | undefined {
  if (!args) return undefined;
  const unknown = Object.keys(args).find((key) => !allowed.has(key));
  return unknown === undefined ? undefined : { code: 555, text: `5.5.4 unsupported parameter ${unknown.slice(0, 32).replace(/[^\x21-\x7e]/g, '?')}` };
}

/** What the listener reports for the metrics (src/ops/metrics.ts). */
export interface SessionObserver extends AdmissionObserver {
  reply(code: number): void;
}

/** What must stay the same for reconfigure(): anything else needs a new server. */
export function canReconfigure(current: ListenerConfig, next: ListenerConfig): boolean {
  return sameListenAddress(current, next) && (current.tls?.mode === 'implicit') === (next.tls?.mode === 'implicit');
}

/** The smtp-server options a Listen decides; the rest are fixed in createListener. */
function sessionOptions(config: ListenerConfig) {
  return {
    name: config.bannerHostname,
    size: config.maxMessageBytes,
    // No AUTH (a relay for local programs); STARTTLS only where configured.
    disabledCommands: config.tls?.mode === 'starttls' ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    socketTimeout: config.idleTimeoutMs,
    // Every peer must send the header; untrusted peers never get this far (refuseSocket).
    useProxy: config.proxy !== null,
  };
}

function tlsOptions(config: ListenerConfig) {
  return config.tls ? { key: config.tls.keyPem, cert: config.tls.certificatePem, ...clientCertificateOptions(config.tls) } : {};
}

/** Sockets from peers outside Proxy_Hosts, for a Listen with Proxy_Protocol; else null. */
function trustedProxies(config: ListenerConfig): BlockList | null {
  if (!config.proxy) return null;
  const list = new BlockList();
  for (const entry of config.proxy.trustedHosts) {
    const [address = '', prefix] = entry.split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

function isTrusted(list: BlockList, rawAddress: string | undefined): boolean {
  if (rawAddress === undefined) return false;
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
  const address = rawAddress.startsWith('::ffff:') && isIPv4(rawAddress.slice(7)) ? rawAddress.slice(7) : rawAddress;
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

export function createListener(
  initialConfig: ListenerConfig,
  policy: MailPolicy,
  logger: Logger,
  slots: SessionSlots,
  observer: SessionObserver,
): Listener {
  let config = initialConfig;
  let proxies = trustedProxies(config);
  let address: AddressInfo | null = null;
  let draining = false;
  let serverClosed = false;
  const waiters: Array<() => void> = [];
  /** RCPT commands per transaction (Max_Recipients_Per_Message); a new MAIL starts a new key. */
  const rcptCommands = new WeakMap<Transaction, number>();
  const certificates = createClientCertificates(() => config, logger);

  const settleIfClosed = () => {
    if (serverClosed && admission.open === 0) waiters.splice(0).forEach((resolve) => resolve());
  };
  const admission = createSessionAdmission(
    () => ({ draining, maxSessions: config.maxSessions, maxSessionsPerClient: config.maxSessionsPerClient }),
    slots,
    observer,
    settleIfClosed,
  );
  const sendAndClose = (connection: PipeConnection<Transaction>, reply: SmtpReply) => {
    connection.send(reply.code, reply.text, false);
    connection.close();
  };

  const server: PipeServer<Transaction> = new PipeServer<Transaction>({
    greetingPauseMs: config.greetingPauseMs,
    onReply: (code) => observer.reply(code),
    refuseSocket(socket) {
      if (proxies === null || isTrusted(proxies, socket.remoteAddress)) return null;
      logger.warn({ listener: config.label, peer: socket.remoteAddress }, 'connection refused: not a trusted proxy (Proxy_Hosts)');
      return REPLY_UNTRUSTED_PROXY;
    },
    admission,
    onRefused(refusal, client) {
      if (refusal.cause === 'fd-budget') logger.warn({ listener: config.label, client }, 'session refused: file descriptor budget exhausted');
    },
    onProxyFailure(socket, failure) {
      // A drain closes the sockets still waiting for their header: that is no proxy's fault.
      if (draining) return;
      logger.warn(
        { listener: config.label, peer: socket.remoteAddress, reason: failure.reason, head: failure.head },
        'connection closed: invalid or missing PROXY header',
      );
    },
    smtp: {
      ...sessionOptions(config),
      ...tlsOptions(config),
      secure: config.tls?.mode === 'implicit',
      // Programs get addresses as argv/env: 8-bit local parts are refused, not offered.
      hideSMTPUTF8: true,
      hideDSN: true,
      authOptional: true,
      disableReverseLookup: true,
      // The drain deadline is ours (src/ops/daemon.ts); smtp-server's own must not cut first.
      closeTimeout: 2 ** 31 - 1,
      logger: false,
      onSecure: (socket, session, callback) => certificates.onSecure(socket, session, callback),
      // Every limit was checked when the socket was accepted (session-admission.ts); a
      // drain that began during the TLS handshake or greeting pause still refuses here.
      onConnect(_session, callback) {
        callback(draining ? toRejection(REPLY_SHUTTING_DOWN) : null);
      },
      onMailFrom(address, session, callback: Callback) {
        const state = server.connectionOf(session)?.state;
        if (!state) return callback(new Error('session without connection state'));
        state.transaction = undefined;
        const tlsRefusal = certificates.mailRefusal(session);
        if (tlsRefusal) return callback(toRejection(tlsRefusal));
        if (config.maxReceptionsPerConnection > 0 && state.receptions >= config.maxReceptionsPerConnection) {
          return callback(toRejection(REPLY_SESSION_MESSAGES));
        }
        const badParameter = unknownParameter(address.args, MAIL_PARAMETERS);
        if (badParameter) return callback(toRejection(badParameter));
        const result = policy.startTransaction(sessionInfo(session, config, certificates.of(session)), address.address);
        if ('code' in result) return callback(toRejection(result));
        state.transaction = result;
        callback();
      },
      onRcptTo(address, session, callback: Callback) {
        const state = server.connectionOf(session)?.state;
        const transaction = state?.transaction;
        if (!state || !transaction) return callback(toRejection(REPLY_NO_TRANSACTION));
        // Every RCPT that gets here counts, refused or repeated: RFC 5321 4.5.3.1.8 and
        // 4.5.3.1.10 speak of a limit on "the number of RCPT commands", and counting only
        // what was accepted (smtp-server's envelope keeps one entry per address) would let
        // a client send RCPTs without end. The first past the limit and all later get 452.
        const count = (rcptCommands.get(transaction) ?? 0) + 1;
        rcptCommands.set(transaction, count);
        if (count > config.maxRecipientsPerMessage) return callback(toRejection(REPLY_TOO_MANY_RECIPIENTS));
        const badParameter = unknownParameter(address.args, NO_PARAMETERS);
        if (badParameter) return callback(toRejection(badParameter));
        if (config.maxRecipientsPerConnection > 0 && state.recipients >= config.maxRecipientsPerConnection) {
          return callback(toRejection(REPLY_SESSION_RECIPIENTS));
        }
        const refusal = transaction.addRecipient(address.address);
        if (!refusal) state.recipients += 1;
        callback(refusal ? toRejection(refusal) : null);
      },
      onData(stream, session, callback) {
        const connection = server.connectionOf(session);
        const transaction = connection?.state.transaction;
        if (!connection || !transaction) {
          stream.resume();
          return callback(toRejection(REPLY_NO_TRANSACTION));
        }
        connection.state.transaction = undefined;
        connection.state.delivering = true;
        const finish = (reply: SmtpReply | null, error?: Error) => {
          connection.state.delivering = false;
          // smtp-server's success path always says 250; any other code (a 2xx from a code
          // map, 4xx, 5xx) goes out as given through the rejection path.
          if (reply?.code === 250) callback(null, reply.text);
          else callback(reply ? toRejection(reply) : error);
          if (draining) setImmediate(() => sendAndClose(connection, REPLY_SHUTTING_DOWN));
        };
        // A slow-drip client must not hold a session slot (and its buffer) forever.
        const dataDeadline = setTimeout(() => sendAndClose(connection, REPLY_DATA_TOO_SLOW), config.maxDataMs);
        readMessage(stream, declaredSize(session), config.maxMessageBytes).then(
          (message) => {
            clearTimeout(dataDeadline);
            connection.state.receptions += 1;
            if (message === null) return finish(REPLY_TOO_BIG);
            transaction.deliver(message).then(
              (reply) => finish(reply),
              (error: unknown) => {
                logger.error({ err: error, session: session.id }, 'delivery threw');
                finish({ code: 451, text: '4.3.0 local error in processing' });
              },
            );
          },
          // The client went away mid-DATA (or was cut at the deadline): nothing runs.
          (error: Error) => {
            clearTimeout(dataDeadline);
            finish(null, error);
          },
        );
      },
    },
  });
  server.on('error', (err) => logger.warn({ err, listener: config.label }, 'smtp connection error'));

  return {
    get config() {
      return config;
    },
    reconfigure(next) {
      if (!canReconfigure(config, next)) throw new Error(`listener ${config.label} cannot become ${next.label} in place`);
      config = next;
      proxies = trustedProxies(next);
      server.greetingPauseMs = next.greetingPauseMs;
      // smtp-server reads these per session or per command; the TLS context per handshake.
      Object.assign(server.options, sessionOptions(next));
      if (next.tls) server.updateSecureContext(tlsOptions(next));
    },
    get address() {
      return address;
    },
    get sessions() {
      return admission.open;
    },
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.server.once('error', onError);
        server.listen(config.port, config.host, () => {
          server.server.off('error', onError);
          address = server.server.address() as AddressInfo;
          resolve(address);
        });
      });
    },
    drain() {
      if (draining) return;
      draining = true;
      server.close(() => {
        serverClosed = true;
        settleIfClosed();
      });
      for (const connection of server.openConnections()) {
        if (!connection.state.delivering) sendAndClose(connection, REPLY_SHUTTING_DOWN);
      }
    },
    closeAll() {
      this.drain();
      for (const connection of server.openConnections()) sendAndClose(connection, REPLY_SHUTTING_DOWN);
    },
    closed() {
      return new Promise((resolve) => {
        waiters.push(resolve);
        settleIfClosed();
      });
    },
  };
}

/** The SIZE= of MAIL FROM (RFC 1870), 0 when the client declared none. */
function declaredSize(session: SMTPServerSession): number {
  const args = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
  const size = args && typeof args.SIZE === 'string' ? Number(args.SIZE) : 0;
  return Number.isSafeInteger(size) && size > 0 ? size : 0;
}

function sessionInfo(session: SMTPServerSession, config: ListenerConfig, clientCertificate: ClientCertificate | null): SessionInfo {
  return {
    sessionId: session.id,
    clientAddress: session.remoteAddress,
    clientHelo: session.hostNameAppearsAs || '',
    protocol: session.transmissionType || 'SMTP',
    receivedBy: config.bannerHostname,
    bareNewlines: config.bareNewlines,
    tls: session.tlsOptions ? `${session.tlsOptions.version} ${session.tlsOptions.standardName || session.tlsOptions.name}` : null,
    clientCertificate,
  };
}

/**
 * Reads the whole message into one fresh ArrayBuffer (it is transferred to a worker
 * later, so it must not be a pooled Buffer's). Resolves null when it is over the size
 * limit: the rest is drained, not kept. Rejects when the client vanished mid-DATA.
 */
function readMessage(stream: SMTPServerDataStream, declaredBytes: number, maxBytes: number): Promise<ArrayBuffer | null> {
  return new Promise((resolve, reject) => {
    // A declared SIZE only sizes the first allocation, made when the first bytes arrive,
    // and at most 1 MiB of it: announcing a size alone makes us hold nothing.
    const message = new MessageBuffer(Math.min(declaredBytes, maxBytes, PREALLOCATE_MAX_BYTES));
    stream.on('data', (chunk: Buffer) => {
      if (stream.sizeExceeded) message.discard();
      else message.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(stream.sizeExceeded ? null : message.take()));
  });
}
