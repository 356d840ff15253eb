// What smtpipe decides at MAIL, RCPT and DATA (the MailPolicy of src/smtp): address
// checks, routing to one transport per transaction, one entry per distinct recipient,
// an argv+env the kernel will take, a transport's recipient_check (its answers kept per
// session), then the message store and the dispatcher. Counts no RCPT commands (src/smtp).

import type { Router } from '../routing/router.js';
import type { MessageStore } from '../message/message-store.js';
import type { MailPolicy, MessageIntake, SessionInfo, Transaction } from '../smtp/policy.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { TransportConfig } from '../config/types.js';
import type { Dispatcher } from './dispatcher.js';
import { checkAddress, recipientKey, splitAddress } from './address.js';
import { createExecBudget, type ExecBudget } from './exec-size.js';
import { createRecipientGate, afterVerdict, type RecipientChecker } from './recipient-check.js';
import { deliveredToWatch } from './loop-check.js';

import { isLmtpSession, startLmtpTransaction } from './lmtp-transaction.js';

const REPLY_RELAY_DENIED: SmtpReply = { code: 550, text: '5.7.1 relaying denied', reason: 'relaying-denied' };
const REPLY_OTHER_TRANSPORT: SmtpReply = {
  code: 452,
  text: '4.5.3 recipient for another transport: send it in a new transaction',
  reason: 'other-transport',
};
const REPLY_ONE_RECIPIENT: SmtpReply = { code: 452, text: '4.5.3 one recipient per transaction: send it in a new transaction', reason: 'one-recipient' };
// RFC 5321 4.5.3.1.10: 452 for "too many recipients"; the client sends the rest later.
const REPLY_ARGS_TOO_BIG: SmtpReply = {
  code: 452,
  text: '4.5.3 too many recipients for one program run: send the rest in a new transaction',
  reason: 'args-too-big',
};

/** smtp-server refuses DATA before a RCPT; should one get here anyway, nothing is kept. */
const NO_RECIPIENT_INTAKE: MessageIntake = {
  write: () => true,
  writable: () => Promise.resolve(),
  discard: () => {},
  deliver: () => Promise.resolve({ code: 503, text: '5.5.1 RCPT TO first' }),
};

/** maxReceivedHeaders: Max_Received_Headers, for the loop checks (loop-check.ts). */
export function createMailPolicy(
  router: Router,
  dispatcher: Dispatcher,
  store: MessageStore,
  checker: RecipientChecker,
  maxReceivedHeaders: number,
): MailPolicy {
  const gate = createRecipientGate(checker);
  return {
    startTransaction(session: SessionInfo, rawSender: string): Transaction | SmtpReply {
      const checkedSender = checkAddress(rawSender, 'sender', session.smtputf8);
      if (!checkedSender.ok) return checkedSender.reply;
      const sender = checkedSender.address;
      // RFC 2033: one run per recipient, any transports in one transaction.
      if (isLmtpSession(session)) return startLmtpTransaction({ router, dispatcher, store, gate, maxReceivedHeaders }, session, sender);
      let transport: TransportConfig | undefined;
      let budget: ExecBudget | undefined;
      const recipients: string[] = [];
      // Both grow only by a distinct accepted recipient; src/smtp bounds the RCPT commands.
      const seen = new Set<string>();
      /** Adds a recipient every check passed; the transport and repeats are checked again after a check's wait. */
      const accept = (route: TransportConfig, address: string, key: string): SmtpReply | undefined => {
        if (transport && route !== transport) return REPLY_OTHER_TRANSPORT;
        if (seen.has(key)) return undefined;
        if (transport?.program.singleRecipient) return REPLY_ONE_RECIPIENT;
        const sized = budget ?? createExecBudget(route, { sender, clientAddress: session.clientAddress, clientHelo: session.clientHelo, authUser: session.authUser });
        if (!sized.tryAdd(address)) return REPLY_ARGS_TOO_BIG;
        budget = sized;
        transport = route;
        seen.add(key);
        recipients.push(address);
        return undefined;
      };
      return {
        addRecipient(rawAddress, signal) {
          const checked = checkAddress(rawAddress, 'recipient', session.smtputf8);
          if (!checked.ok) return checked.reply;
          const { address } = checked;
          const route = router.route(splitAddress(address).domain);
          if (!route) return REPLY_RELAY_DENIED;
          if (transport && route !== transport) return REPLY_OTHER_TRANSPORT;
          // A repeat is acknowledged (it is a valid recipient) but delivered to once.
          const key = recipientKey(address);
          if (seen.has(key)) return undefined;
          if (transport?.program.singleRecipient) return REPLY_ONE_RECIPIENT;
          return afterVerdict(gate(session, route, sender, address, signal), (refusal) => refusal ?? accept(route, address, key));
        },
        openMessage(declaredBytes) {
          if (!transport) return NO_RECIPIENT_INTAKE;
          const delivery = dispatcher.open({ ...session, transport, sender, recipients, maxReceivedHeaders });
          // A Delivered-To: loop on any recipient refuses the whole message: after DATA,
          // SMTP has one reply for all of them (Postfix's smtpd cannot split it either).
          const route = transport;
          const deliveredTo = deliveredToWatch(recipients.map((address) => ({ address, transport: route })));
          const receiver = store.receive({
            eol: transport.eol,
            bareNewlines: session.bareNewlines,
            header: delivery.header,
            declaredBytes,
            deliveredTo,
          });
          return {
            write: (chunk) => receiver.write(chunk),
            writable: () => receiver.writable(),
            discard: () => receiver.discard(),
            deliver: async (signal) => delivery.deliver(await receiver.finish(), signal),
          };
        },
      };
    },
  };
}
