// Client certificates of one Listen (TLS_Verify_Mode, TLS_Client_CA): the smtp-server TLS
// options that ask for one, what each session's handshake showed (for the delivery line
// and Received:), and the refusals "require" implies. Decides nothing about mail, and never
// reports a certificate as verified that OpenSSL did not verify against TLS_Client_CA.

import { TLSSocket } from 'node:tls';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServerSession } from 'smtp-server';
import type { ListenerConfig, ListenerTls } from '../config/types.js';
import type { ClientCertificate } from './policy.js';
import { toRejection, type SmtpReply } from './reply.js';

/** RFC 3207 section 4: a server that requires TLS answers commands before it with 530. */
const REPLY_STARTTLS_FIRST: SmtpReply = { code: 530, text: '5.7.0 Must issue a STARTTLS command first', reason: 'tls-required' };
const REPLY_CERTIFICATE_REQUIRED: SmtpReply = { code: 530, text: '5.7.0 a verified client certificate is required here', reason: 'client-certificate' };
/** Postfix's answer when smtpd_tls_req_ccert finds no trusted certificate after STARTTLS. */
const REPLY_NO_CERTIFICATE: SmtpReply = { code: 421, text: '4.7.1 no client certificate presented, closing' };
const REPLY_UNTRUSTED_CERTIFICATE: SmtpReply = { code: 421, text: '4.7.1 client certificate not trusted, closing' };

/** Names in a certificate are the client's to choose: kept bounded in logs and headers. */
const MAX_NAME_LENGTH = 512;

/**
 * smtp-server passes these to every TLS socket it creates (STARTTLS and Use_SSL alike).
 * "require" refuses the handshake itself on a Use_SSL Listen; after STARTTLS the session
 * is refused in onSecure with a reply instead, which tells the client why (Postfix does
 * the same), rather than a TLS alert that many clients answer by retrying in plaintext.
 * Every key is always present, so a reload that turns verification off clears it.
 */
export function clientCertificateOptions(tls: ListenerTls): { requestCert: boolean; rejectUnauthorized: boolean; ca: string | undefined } {
  const asking = tls.verifyMode !== 'none';
  return {
    requestCert: asking,
    rejectUnauthorized: tls.verifyMode === 'require' && tls.mode === 'implicit',
    ca: asking ? tls.clientCaPem : undefined,
  };
}

export interface ClientCertificates {
  /** smtp-server's onSecure hook: records the certificate, refuses the session if "require" is not met. */
  onSecure(socket: net.Socket | TLSSocket, session: SMTPServerSession, callback: (err?: Error | null) => void): void;
  /** What the session's handshake showed; null when no certificate was asked for or presented. */
  of(session: SMTPServerSession): ClientCertificate | null;
  /** The reply to MAIL FROM on a Listen that requires a certificate this session has not shown. */
  mailRefusal(session: SMTPServerSession): SmtpReply | undefined;
}

export function createClientCertificates(currentConfig: () => ListenerConfig, logger: Logger): ClientCertificates {
  const bySession = new WeakMap<SMTPServerSession, ClientCertificate>();
  const required = () => currentConfig().tls?.verifyMode === 'require';
  return {
    onSecure(socket, session, callback) {
      const certificate = socket instanceof TLSSocket ? readClientCertificate(socket) : null;
      if (certificate) bySession.set(session, certificate);
      else bySession.delete(session);
      if (!required() || certificate?.verified) return callback();
      const refusal = certificate ? REPLY_UNTRUSTED_CERTIFICATE : REPLY_NO_CERTIFICATE;
      logger.warn(
        { listener: currentConfig().label, client: session.remoteAddress, clientCertificate: certificate },
        'session refused: TLS_Verify_Mode = require and no verified client certificate',
      );
      callback(toRejection(refusal));
    },
    of(session) {
      return bySession.get(session) ?? null;
    },
    mailRefusal(session) {
      if (!required()) return undefined;
      if (!session.secure) return REPLY_STARTTLS_FIRST;
      // A session that began before a reload turned "require" on.
      return bySession.get(session)?.verified ? undefined : REPLY_CERTIFICATE_REQUIRED;
    },
  };
}

/** null when the client sent no certificate (or none was asked for). */
export function readClientCertificate(socket: TLSSocket): ClientCertificate | null {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) return null;
  // smtp-server sets `authorized` only after OpenSSL verified the chain against `ca`.
  const verified = socket.authorized === true;
  const subject = oneLine(certificate.subject);
  const issuer = oneLine(certificate.issuer);
  return {
    verified,
    error: verified ? null : String(socket.authorizationError ?? 'UNVERIFIED'),
    subject,
    issuer,
    commonName: lastCommonName(certificate.subject),
    issuerCommonName: lastCommonName(certificate.issuer),
    fingerprint256: certificate.fingerprint256,
  };
}

/** Node gives one RDN per line (RFC 2253 escapes, so a value never holds a newline). */
function oneLine(dn: string): string {
  return dn.split('\n').join(', ').slice(0, MAX_NAME_LENGTH);
}

function lastCommonName(dn: string): string | null {
  const line = dn.split('\n').findLast((rdn) => rdn.startsWith('CN='));
  return line === undefined ? null : line.slice(3).slice(0, MAX_NAME_LENGTH);
}
