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
  /** Protocol and cipher when the session is encrypted ("TLSv1.3 TLS_AES_256_GCM_SHA384"), else null. */
  readonly tls: string | null;
}

export interface Transaction {
  /** Accepts (undefined) or refuses a RCPT TO address. */
  addRecipient(address: string): SmtpReply | undefined;
  /** The whole message, as received, in a fresh ArrayBuffer; resolves with the DATA reply. */
  deliver(message: ArrayBuffer): Promise<SmtpReply>;
}

export interface MailPolicy {
  /** Called at MAIL FROM ('' for the null sender): a transaction, or the refusal. */
  startTransaction(session: SessionInfo, sender: string): Transaction | SmtpReply;
}
