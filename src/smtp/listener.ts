// One Listen: an smtp-server instance (connection.ts) with our hooks (session-hooks.ts).
// Owns its life cycle: listen, reconfigure on reload, drain, close. Who may connect is
// session-admission.ts and proxy-trust.ts; every decision about mail is the MailPolicy's.
//
// Socket states: accepted (counted from here: session-admission.ts) -> [PROXY header]
// -> [TLS handshake] -> [greeting pause] -> connected -> (MAIL) in transaction -> (DATA)
// busy -> reply -> connected. A busy session is never cut by a drain; an idle one gets
// 421 at once.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { sameListenAddress } from '../config/listen-address.js';
import type { ListenerConfig } from '../config/types.js';
import { clientCertificateOptions, createClientCertificates } from './client-certificates.js';
import { PipeServer } from './connection.js';
import type { MailPolicy, Transaction } from './policy.js';
import { isTrusted, trustedProxies } from './proxy-trust.js';
import type { SmtpReply } from './reply.js';
import { createSessionAdmission, REPLY_SHUTTING_DOWN, type AdmissionObserver, type SessionSlots } from './session-admission.js';
import { createSessionHooks, sendAndClose } from './session-hooks.js';

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

const REPLY_UNTRUSTED_PROXY: SmtpReply = { code: 421, text: '4.7.0 connections here must come through a trusted proxy' };

/** What the listener reports for the metrics (src/ops/metrics.ts). */
export interface SessionObserver extends AdmissionObserver {
  reply(code: number): void;
}

/** What must stay the same for reconfigure(): anything else (Use_SSL, SMTP <-> LMTP) needs a new server. */
export function canReconfigure(current: ListenerConfig, next: ListenerConfig): boolean {
  return (
    sameListenAddress(current, next) &&
    (current.tls?.mode === 'implicit') === (next.tls?.mode === 'implicit') &&
    current.protocol === next.protocol
  );
}

/** The smtp-server options a Listen decides; the rest are fixed in createListener. */
function sessionOptions(config: ListenerConfig) {
  return {
    name: config.bannerHostname,
    // The largest of the Listen's and its Peers' limits: smtp-server checks this one for
    // every session, the hooks each session's own (session-hooks.ts) and EHLO shows it.
    size: Math.max(config.maxMessageBytes, ...config.peers.map((p) => p.overrides.maxMessageBytes ?? 0)),
    // No AUTH (a relay for local programs); STARTTLS only where configured.
    disabledCommands: config.tls?.mode === 'starttls' ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    socketTimeout: config.idleTimeoutMs,
    // Every peer must send the header; untrusted peers never get this far (refuseSocket).
    useProxy: config.proxy !== null,
    // RFC 6531 only where SMTP_Extensions lists it: programs then get UTF-8 addresses.
    hideSMTPUTF8: !config.smtputf8,
  };
}

function tlsOptions(config: ListenerConfig) {
  return config.tls ? { key: config.tls.keyPem, cert: config.tls.certificatePem, ...clientCertificateOptions(config.tls) } : {};
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
      // RFC 2033: LHLO instead of HELO/EHLO (both get 500), and onData answers with one
      // reply per recipient (session-hooks.ts).
      lmtp: config.protocol === 'lmtp',
      hideDSN: true,
      authOptional: true,
      disableReverseLookup: true,
      // The drain deadline is ours (src/ops/shutdown.ts); smtp-server's own must not cut first.
      closeTimeout: 2 ** 31 - 1,
      logger: false,
      ...createSessionHooks({
        config: () => config,
        draining: () => draining,
        policy,
        logger,
        certificates,
        connectionOf: (session) => server.connectionOf(session),
      }),
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
