// Who may hold a socket on one Listen: every accepted socket is counted from accept to
// close (inside a TLS handshake, a greeting pause or a PROXY wait too) against
// Listener_Sessions, Max_Sessions_Per_Client and the process's fd budget. Counts only;
// sockets, replies on the wire and logs are the caller's.

import type { SmtpReply } from './reply.js';
import { canonicalIp } from './ip-address.js';
import type { RateThrottle, ThrottleRate } from './rate-throttle.js';

/** Process-wide cap on sessions (file descriptors); see src/ops/fd-budget.ts. */
export interface SessionSlots {
  tryOpen(): boolean;
  close(): void;
}

/** What the admission reports for the metrics (src/ops/metrics.ts). */
export interface AdmissionObserver {
  sessionOpened(): void;
  sessionClosed(): void;
}

export interface AdmissionLimits {
  readonly draining: boolean;
  /** Listener_Sessions. */
  readonly maxSessions: number;
  /** Max_Sessions_Per_Client; 0 = no limit. */
  readonly maxSessionsPerClient: number;
  /** Inbound_Throttle_Connections; null = no limit. */
  readonly connectionThrottle?: ThrottleRate | null;
}

export type RefusalCause = 'draining' | 'listener-sessions' | 'client-sessions' | 'fd-budget' | 'connection-throttle';

export interface Refusal {
  readonly cause: RefusalCause;
  readonly reply: SmtpReply;
}

export interface AdmissionTicket {
  /**
   * Counts the socket against its client's limit, once its client is known (behind
   * PROXY: from the header). A refusal leaves the ticket to be released as usual.
   */
  claimClient(address: string): Refusal | null;
  /** Gives everything back; any call after the first does nothing. */
  release(): void;
}

export interface SessionAdmission {
  /** `client` null: not known yet (a PROXY header will say); claim it on the ticket then. */
  admit(client: string | null): { ticket: AdmissionTicket } | { refusal: Refusal };
  /** Sockets admitted and not yet released. */
  readonly open: number;
}

export const REPLY_SHUTTING_DOWN: SmtpReply = { code: 421, text: '4.3.2 service shutting down', reason: 'shutting-down' };
export const REPLY_TOO_MANY_SESSIONS: SmtpReply = { code: 421, text: '4.4.5 concurrency limit reached' };
export const REPLY_CLIENT_SESSIONS: SmtpReply = { code: 421, text: '4.7.0 too many sessions from your address' };
export const REPLY_CONNECTION_THROTTLE: SmtpReply = { code: 421, text: '4.7.0 too many connections from your address, try again later', reason: 'connection-throttle' };

export function createSessionAdmission(
  limits: () => AdmissionLimits,
  slots: SessionSlots,
  observer: AdmissionObserver,
  onRelease: () => void,
  /** Inbound_Throttle_Connections' counts (rate-throttle.ts), kept by the caller across reloads. */
  connections?: RateThrottle,
): SessionAdmission {
  let open = 0;
  const perClient = new Map<string, number>();

  const clientRefusal: Refusal = { cause: 'client-sessions', reply: REPLY_CLIENT_SESSIONS };
  const throttleRefusal: Refusal = { cause: 'connection-throttle', reply: REPLY_CONNECTION_THROTTLE };
  const overClientLimit = (key: string) => {
    const max = limits().maxSessionsPerClient;
    return max > 0 && (perClient.get(key) ?? 0) >= max;
  };
  /** Counts a connection of this client within Inbound_Throttle_Connections; one refused is not counted. */
  const overRate = (key: string) => connections !== undefined && !connections.take(key, limits().connectionThrottle ?? null);
  const unclaim = (key: string) => {
    const left = (perClient.get(key) ?? 1) - 1;
    if (left > 0) perClient.set(key, left);
    else perClient.delete(key);
  };

  /** `counted`: admit() has already counted this connection against the rate. */
  const ticketFor = (counted: boolean): AdmissionTicket => {
    let claimed: string | null = null;
    let released = false;
    return {
      claimClient(address) {
        if (released || claimed !== null) return null;
        const key = canonicalIp(address);
        if (overClientLimit(key)) return clientRefusal;
        if (!counted && overRate(key)) return throttleRefusal;
        perClient.set(key, (perClient.get(key) ?? 0) + 1);
        claimed = key;
        return null;
      },
      release() {
        if (released) return;
        released = true;
        if (claimed !== null) unclaim(claimed);
        open -= 1;
        slots.close();
        observer.sessionClosed();
        onRelease();
      },
    };
  };

  return {
    get open() {
      return open;
    },
    admit(client) {
      const { draining, maxSessions } = limits();
      if (draining) return { refusal: { cause: 'draining', reply: REPLY_SHUTTING_DOWN } };
      if (open >= maxSessions) return { refusal: { cause: 'listener-sessions', reply: REPLY_TOO_MANY_SESSIONS } };
      if (client !== null && overClientLimit(canonicalIp(client))) return { refusal: clientRefusal };
      if (client !== null && overRate(canonicalIp(client))) return { refusal: throttleRefusal };
      if (!slots.tryOpen()) return { refusal: { cause: 'fd-budget', reply: REPLY_TOO_MANY_SESSIONS } };
      open += 1;
      observer.sessionOpened();
      const ticket = ticketFor(client !== null);
      if (client !== null) ticket.claimClient(client);
      return { ticket };
    },
  };
}
