// Per-session limits and ESMTP parameter checks (src/smtp/session-limits.ts): table tests
// of the pure decisions the hooks take at MAIL FROM and RCPT TO.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mailRefusal, rcptRefusal, type SessionLimits } from '../../src/smtp/session-limits.js';

const limits = (overrides: Partial<SessionLimits> = {}): SessionLimits => ({
  maxReceptionsPerConnection: 0,
  maxRecipientsPerMessage: 3,
  maxRecipientsPerConnection: 0,
  smtputf8: false,
  ...overrides,
});
const line = (reply: { code: number; text: string } | null) => (reply === null ? null : `${reply.code} ${reply.text}`);

test('MAIL FROM: the session message cap, then parameters (SIZE and BODY only)', () => {
  const cases: Array<[string, SessionLimits, number, Record<string, unknown> | false, string | null]> = [
    ['no cap, no parameters', limits(), 1000, false, null],
    ['SIZE and BODY are ours', limits(), 0, { SIZE: '10', BODY: '8BITMIME' }, null],
    ['under the cap', limits({ maxReceptionsPerConnection: 2 }), 1, false, null],
    ['at the cap', limits({ maxReceptionsPerConnection: 2 }), 2, false, '421 4.7.0 too many messages in this session, reconnect'],
    ['the cap before parameters', limits({ maxReceptionsPerConnection: 1 }), 1, { SMTPUTF8: true }, '421 4.7.0 too many messages in this session, reconnect'],
    ['an unknown parameter', limits(), 0, { SMTPUTF8: true }, '555 5.5.4 unsupported parameter SMTPUTF8'],
    ['SMTPUTF8 where SMTP_Extensions lists it', limits({ smtputf8: true }), 0, { SMTPUTF8: true, BODY: '8BITMIME' }, null],
    ['RFC 3461 DSN parameters are not offered', limits(), 0, { RET: 'FULL' }, '555 5.5.4 unsupported parameter RET'],
    ['a hostile name is cut and made printable', limits(), 0, { ['X\u0001'.padEnd(40, 'Y')]: true }, `555 5.5.4 unsupported parameter X?${'Y'.repeat(30)}`],
  ];
  for (const [name, session, receptions, args, expected] of cases) {
    assert.equal(line(mailRefusal(session, receptions, args)), expected, name);
  }
});

test('RCPT TO: per-message count of RCPT commands, then parameters, then the session recipient cap', () => {
  const cases: Array<[string, SessionLimits, number, number, Record<string, unknown> | false, string | null]> = [
    ['first RCPT', limits(), 1, 0, false, null],
    ['at the per-message limit', limits(), 3, 0, false, null],
    ['past it', limits(), 4, 0, false, '452 4.5.3 too many recipients'],
    ['past it wins over a bad parameter', limits(), 4, 0, { NOTIFY: 'NEVER' }, '452 4.5.3 too many recipients'],
    ['RCPT takes no parameters', limits(), 1, 0, { NOTIFY: 'NEVER' }, '555 5.5.4 unsupported parameter NOTIFY'],
    ['a bad parameter wins over the session cap', limits({ maxRecipientsPerConnection: 1 }), 1, 1, { ORCPT: 'x' }, '555 5.5.4 unsupported parameter ORCPT'],
    ['under the session cap', limits({ maxRecipientsPerConnection: 2 }), 1, 1, false, null],
    ['at the session cap', limits({ maxRecipientsPerConnection: 2 }), 1, 2, false, '452 4.5.3 too many recipients in this session'],
    ['no session cap (0)', limits(), 2, 10_000, false, null],
  ];
  for (const [name, session, rcptCommands, recipients, args, expected] of cases) {
    assert.equal(line(rcptRefusal(session, rcptCommands, recipients, args)), expected, name);
  }
});
