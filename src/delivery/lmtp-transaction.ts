// One LMTP transaction (RFC 2033) as the MailPolicy sees it: every accepted recipient is
// its own delivery (own program run, ${recipient}, trace headers, log line), recipients of
// several transports share the transaction, and the message is received once. Decides
// nothing about replies (the dispatcher maps each run's outcome); spawns nothing.

import type { Router } from '../routing/router.js';
import type { MessageStore, Received } from '../message/message-store.js';
import type { MessageIntake, SessionInfo, Transaction } from '../smtp/policy.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { TransportConfig } from '../config/types.js';
import type { Dispatcher } from './dispatcher.js';
import { checkAddress, recipientKey, splitAddress } from './address.js';
import { createExecBudget } from './exec-size.js';
import { afterVerdict, type RecipientGate } from './recipient-check.js';
import { deliveredToWatch } from './loop-check.js';

const REPLY_RELAY_DENIED: SmtpReply = { code: 550, text: '5.7.1 relaying denied' };
// The message is stored once, in one line ending: a transport that wants the other one
// cannot share it. RFC 5321 4.5.3.1.10's 452: the client sends it in a later transaction.
const REPLY_OTHER_EOL: SmtpReply = {
  code: 452,
  text: '4.5.3 recipient for a transport with another eol: send it in a new transaction',
};
const REPLY_ARGS_TOO_BIG: SmtpReply = { code: 452, text: '4.5.3 recipient too long for one program run' };

interface Recipient {
  readonly address: string;
  readonly transport: TransportConfig;
}

/** True for smtp-server's RFC 3848 names of an LMTP session: LMTP, LMTPS, LMTPA, LMTPSA. */
export function isLmtpSession(session: SessionInfo): boolean {
  return session.protocol.startsWith('LMTP');
}

export interface LmtpParts {
  readonly router: Router;
  readonly dispatcher: Dispatcher;
  readonly store: MessageStore;
  /** recipient_check, as in SMTP transactions (mail-policy.ts). */
  readonly gate: RecipientGate;
  /** Max_Received_Headers (loop-check.ts). */
  readonly maxReceivedHeaders: number;
}

export function startLmtpTransaction(parts: LmtpParts, session: SessionInfo, sender: string): Transaction {
  const { router, dispatcher, store, gate, maxReceivedHeaders } = parts;
  const recipients: Recipient[] = [];
  const byKey = new Map<string, number>();
  /**
   * For each RCPT that got 250, in order, the recipient it names. RFC 2033 4.2: one reply
   * per successful RCPT; a repeated address is delivered to once and answered each time.
   */
  const accepted: number[] = [];
  return {
    addRecipient(rawAddress, signal) {
      const checked = checkAddress(rawAddress, 'recipient', session.smtputf8);
      if (!checked.ok) return checked.reply;
      const { address } = checked;
      const transport = router.route(splitAddress(address).domain);
      if (!transport) return REPLY_RELAY_DENIED;
      const key = recipientKey(address);
      const known = byKey.get(key);
      if (known !== undefined) {
        accepted.push(known);
        return undefined;
      }
      if (recipients[0] && recipients[0].transport.eol !== transport.eol) return REPLY_OTHER_EOL;
      // Each run names one recipient: its own argv and environment must fit execve.
      const budget = createExecBudget(transport, { sender, clientAddress: session.clientAddress, clientHelo: session.clientHelo, authUser: session.authUser });
      if (!budget.tryAdd(address)) return REPLY_ARGS_TOO_BIG;
      return afterVerdict(gate(session, transport, sender, address, signal), (refusal) => {
        if (refusal) return refusal;
        byKey.set(key, recipients.length);
        accepted.push(recipients.length);
        recipients.push({ address, transport });
        return undefined;
      });
    },
    openMessage(declaredBytes): MessageIntake {
      const [first] = recipients;
      if (!first) return NO_RECIPIENT_INTAKE;
      // Named at DATA, one queue id and trace header per recipient: each names its recipient
      // (Delivered-To, Received ... for <x>), so none goes into the stored bytes.
      const deliveries = recipients.map(({ address, transport }) =>
        dispatcher.open({ ...session, transport, sender, recipients: [address], maxReceivedHeaders }),
      );
      // Each delivery judges its own recipient (loop-check.ts): a Delivered-To: loop refuses
      // only the recipient it names.
      const receiver = store.receive({
        eol: first.transport.eol,
        bareNewlines: session.bareNewlines,
        header: '',
        declaredBytes,
        deliveredTo: deliveredToWatch(recipients),
      });
      return {
        write: (chunk) => receiver.write(chunk),
        writable: () => receiver.writable(),
        discard: () => receiver.discard(),
        async deliver(signal) {
          const received = await receiver.finish();
          const shares = shareReceived(received, deliveries.map((d) => d.header));
          // Concurrently, each under its own transport's concurrency (the pool's queues).
          const replies = await Promise.all(deliveries.map((delivery, i) => delivery.deliver(shares[i] as Received, signal)));
          return accepted.map((index) => replies[index] as SmtpReply);
        },
      };
    },
  };
}

/**
 * One Received per run: a stored message is released when the last run releases it, and
 * each run's trace header is set to go before the stored bytes (`header`, see Received).
 */
function shareReceived(received: Received, headers: readonly string[]): Received[] {
  if (received.kind !== 'stored') return headers.map(() => received);
  const { message } = received;
  let holders = headers.length;
  const release = () => {
    holders -= 1;
    if (holders === 0) message.release();
  };
  return headers.map((header) => {
    let released = false;
    const own = () => {
      if (released) return;
      released = true;
      release();
    };
    return { ...received, message: { ...message, release: own }, header };
  });
}

const NO_RECIPIENT_INTAKE: MessageIntake = {
  write: () => true,
  writable: () => Promise.resolve(),
  discard: () => {},
  deliver: () => Promise.resolve({ code: 503, text: '5.5.1 RCPT TO first' }),
};
