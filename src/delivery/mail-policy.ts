// What smtpipe decides at MAIL, RCPT and DATA (the MailPolicy of src/smtp): address
// checks, routing to one transport per transaction, one entry per distinct recipient,
// an argv+env the kernel will take, then the message store and the dispatcher. Counts no
// RCPT commands (src/smtp).

import type { Router } from '../routing/router.js';
import type { MessageStore } from '../message/message-store.js';
import type { MailPolicy, MessageIntake, SessionInfo, Transaction } from '../smtp/policy.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { TransportConfig } from '../config/types.js';
import type { Dispatcher } from './dispatcher.js';
import { checkAddress, recipientKey, splitAddress } from './address.js';
import { createExecBudget, type ExecBudget } from './exec-size.js';

const REPLY_RELAY_DENIED: SmtpReply = { code: 550, text: '5.7.1 relaying denied' };
const REPLY_OTHER_TRANSPORT: SmtpReply = {
  code: 452,
  text: '4.5.3 recipient for another transport: send it in a new transaction',
};
const REPLY_ONE_RECIPIENT: SmtpReply = { code: 452, text: '4.5.3 one recipient per transaction: send it in a new transaction' };
// RFC 5321 4.5.3.1.10: 452 for "too many recipients"; the client sends the rest later.
const REPLY_ARGS_TOO_BIG: SmtpReply = {
  code: 452,
  text: '4.5.3 too many recipients for one program run: send the rest in a new transaction',
};

/** smtp-server refuses DATA before a RCPT; should one get here anyway, nothing is kept. */
const NO_RECIPIENT_INTAKE: MessageIntake = {
  write: () => true,
  writable: () => Promise.resolve(),
  discard: () => {},
  deliver: () => Promise.resolve({ code: 503, text: '5.5.1 RCPT TO first' }),
};

export function createMailPolicy(router: Router, dispatcher: Dispatcher, store: MessageStore): MailPolicy {
  return {
    startTransaction(session: SessionInfo, rawSender: string): Transaction | SmtpReply {
      const checkedSender = checkAddress(rawSender, 'sender', session.smtputf8);
      if (!checkedSender.ok) return checkedSender.reply;
      const sender = checkedSender.address;
      let transport: TransportConfig | undefined;
      let budget: ExecBudget | undefined;
      const recipients: string[] = [];
      // Both grow only by a distinct accepted recipient; src/smtp bounds the RCPT commands.
      const seen = new Set<string>();
      return {
        addRecipient(rawAddress) {
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
          const sized = budget ?? createExecBudget(route, { sender, clientAddress: session.clientAddress, clientHelo: session.clientHelo });
          if (!sized.tryAdd(address)) return REPLY_ARGS_TOO_BIG;
          budget = sized;
          transport = route;
          seen.add(key);
          recipients.push(address);
          return undefined;
        },
        openMessage(declaredBytes) {
          if (!transport) return NO_RECIPIENT_INTAKE;
          const delivery = dispatcher.open({ ...session, transport, sender, recipients });
          const receiver = store.receive({ eol: transport.eol, bareNewlines: session.bareNewlines, header: delivery.header, declaredBytes });
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
