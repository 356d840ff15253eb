// The narrow interface between the SMTP layer and whatever decides what happens to
// mail (src/delivery). The SMTP layer knows nothing of transports, pools or programs.

import type { BareNewlinePolicy } from '../config/types.js';
import type { SmtpReply } from './reply.js';

export interface SessionInfo {
  readonly sessionId: string;
  readonly clientAddress: string;
  readonly clientHelo: string;
  /** RFC 3848 name: SMTP, ESMTP, ESMTPS... */
  readonly protocol: string;
  /** Banner_Hostname of the listener. */
  readonly receivedBy: string;
  /** Bare_Newlines of the listener. */
  readonly bareNewlines: BareNewlinePolicy;
  /**
   * This MAIL FROM carried SMTPUTF8 (RFC 6531) on a Listen that offers it: the
   * transaction's addresses may be UTF-8. Set anew at every MAIL.
   */
  readonly smtputf8: boolean;
  /** Protocol and cipher when the session is encrypted ("TLSv1.3 TLS_AES_256_GCM_SHA384"), else null. */
  readonly tls: string | null;
  /** The certificate the client presented (TLS_Verify_Mode optional/require), else null. */
  readonly clientCertificate: ClientCertificate | null;
  /** The Auth_Password_File user this session authenticated as (RFC 4954), else null. */
  readonly authUser: string | null;
  /**
   * One object for the whole session, the same at each MAIL: the policy may key what it
   * remembers across the session's transactions on it (a WeakMap), and forget it with it.
   */
  readonly scope: object;
}

/**
 * A client certificate as the TLS handshake left it. Until `verified`, every field is
 * text the client chose: escape it wherever it goes, and name no one by it.
 */
export interface ClientCertificate {
  /** It chains to TLS_Client_CA and is within its validity period. */
  readonly verified: boolean;
  /** Why it did not verify, as OpenSSL says (UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...); null when verified. */
  readonly error: string | null;
  /** Distinguished names on one line, most significant first: "O=smtpipe tests, CN=client.test". */
  readonly subject: string;
  readonly issuer: string;
  /** The most specific CN of each, or null when it has none. */
  readonly commonName: string | null;
  readonly issuerCommonName: string | null;
  /** SHA-256 of the DER, colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
}

export interface Transaction {
  /**
   * Accepts (undefined) or refuses a RCPT TO address; a Promise when the answer needs a
   * program (recipient_check), at once otherwise. The SMTP layer calls it again only after
   * the last answer (pipelined RCPTs are answered in order). `signal` aborts when the
   * client leaves.
   */
  addRecipient(address: string, signal: AbortSignal): SmtpReply | undefined | Promise<SmtpReply | undefined>;
  /**
   * At DATA, after at least one RCPT was accepted: where the message's bytes go as they
   * arrive. `declaredBytes` is the SIZE= of MAIL FROM, 0 when none.
   */
  openMessage(declaredBytes: number): MessageIntake;
}

/** One message on its way in, then its delivery. */
export interface MessageIntake {
  /** A chunk of DATA, dot-unstuffed; the intake owns it from now on. false: wait for writable(). */
  write(chunk: Buffer): boolean;
  writable(): Promise<void>;
  /**
   * The last byte is in: resolves with the DATA reply. `signal` aborts when the client
   * leaves first; a program not yet started for it then never starts. In an LMTP
   * session, one reply per RCPT that got 250, in RCPT order (RFC 2033 4.2).
   */
  deliver(signal: AbortSignal): Promise<SmtpReply | readonly SmtpReply[]>;
  /** The message will not be delivered (too big, client gone, too slow): free what it holds. */
  discard(): void;
}

export interface MailPolicy {
  /** Called at MAIL FROM ('' for the null sender): a transaction, or the refusal. */
  startTransaction(session: SessionInfo, sender: string): Transaction | SmtpReply;
}
