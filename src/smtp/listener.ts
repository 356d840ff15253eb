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
import { canonicalIp } from './ip-address.js';
import { PipeServer } from './connection.js';
import type { MailPolicy, Transaction } from './policy.js';
import { isTrusted, trustedProxies } from './proxy-trust.js';
import { createRateThrottle } from './rate-throttle.js';
import { createRefusals, type RefusalObserver } from './refusal-log.js';
import type { SmtpReply } from './reply.js';
import { createSessionAdmission, REPLY_SHUTTING_DOWN, type AdmissionObserver, type SessionSlots } from './session-admission.js';
import { createAuthHook } from './session-auth.js';
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
  /** Client addresses the Inbound_Throttle_* tables remember now (bounded: rate-throttle.ts). */
  readonly throttled: { readonly connections: number; readonly messages: number };
  /** Stops accepting, closes idle sessions with 421; busy ones close after their reply. */
  drain(): void;
  /** 421 and close for every session, busy or not. */
  closeAll(): void;
  /** Resolves once the server is closed and no session is left. */
  closed(): Promise<void>;
}

const REPLY_UNTRUSTED_PROXY: SmtpReply = { code: 421, text: '4.7.0 connections here must come through a trusted proxy' };

/**
 * A failed bind as the operator reads it: "cannot listen on 127.0.0.1:25: EADDRINUSE:
 * address already in use 127.0.0.1:25"; `code` kept (reload retries on EADDRINUSE).
 */
export function bindError(label: string, err: NodeJS.ErrnoException): Error {
  const error = new Error(`cannot listen on ${label}: ${err.message.replace(/^listen /, '')}`, { cause: err });
  return Object.assign(error, { code: err.code });
}

/** What the listener reports for the metrics (src/ops/metrics.ts). */
export interface SessionObserver extends AdmissionObserver, RefusalObserver {
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
    // AUTH only where SMTP_Extensions lists it (session-auth.ts); STARTTLS only where configured.
    disabledCommands: [...(config.auth === null ? ['AUTH'] : []), ...(config.tls?.mode === 'starttls' ? [] : ['STARTTLS'])],
    // Before TLS, AUTH is neither offered nor accepted (connection.ts) unless Auth_Allow_Plaintext.
    allowInsecureAuth: config.auth?.allowPlaintext ?? false,
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
  // Per Listen, kept across reloads (a reload changes the rates, not what was counted).
  const connectionCounts = createRateThrottle(() => performance.now());
  const messageCounts = createRateThrottle(() => performance.now());
  const refusals = createRefusals(logger, observer, () => config.label);

  const settleIfClosed = () => {
    if (serverClosed && admission.open === 0) waiters.splice(0).forEach((resolve) => resolve());
  };
  const admission = createSessionAdmission(
    () => ({ draining, maxSessions: config.maxSessions, maxSessionsPerClient: config.maxSessionsPerClient, connectionThrottle: config.connectionThrottle }),
    slots,
    observer,
    settleIfClosed,
    connectionCounts,
  );
  const server: PipeServer<Transaction> = new PipeServer<Transaction>({
    greetingPauseMs: config.greetingPauseMs,
    onReply: (code) => observer.reply(code),
    refuseSocket(socket) {
      if (proxies === null || isTrusted(proxies, socket.remoteAddress)) return null;
      refusals.record('connect', REPLY_UNTRUSTED_PROXY, socket.remoteAddress, {
        reason: 'untrusted-proxy',
        level: 'warn',
        message: 'connection refused: not a trusted proxy (Proxy_Hosts)',
        fields: { peer: socket.remoteAddress },
      });
      return REPLY_UNTRUSTED_PROXY;
    },
    admission,
    onRefused(refusal, client) {
      const reason = refusal.cause === 'draining' ? 'shutting-down' : refusal.cause;
      if (refusal.cause === 'fd-budget') {
        refusals.record('connect', refusal.reply, client, { reason, level: 'warn', message: 'session refused: file descriptor budget exhausted' });
      } else refusals.record('connect', refusal.reply, client, { reason });
    },
    onRefusal: (stage, reply, client, session) => refusals.record(stage, reply, client, { session }),
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
      // Require_Auth is ours (session-hooks.ts onMailFrom): per Listen, with our reply.
      authOptional: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth: createAuthHook({ config: () => config, logger, connectionOf: (session) => server.connectionOf(session) }),
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
        refusals,
        throttleMessage: (client) => messageCounts.take(canonicalIp(client), config.messageThrottle),
      }),
    },
  });
  // smtp-server re-emits its socket's errors here, a failed bind too: listen() rejects with
  // that one ("cannot listen on ..."), and whoever called it logs it once, at error.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall !== 'listen') logger.warn({ err, listener: config.label }, 'smtp connection error');
  });

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
    get throttled() {
      return { connections: connectionCounts.size, messages: messageCounts.size };
    },
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(bindError(config.label, err));
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
