// replyForExit (src/delivery/exit-presets.ts), table-driven: the class guard and the
// cleaning of a program's status line. Every preset row goes through a real SMTP client in
// test/integration/smtp-exit-codes.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replyForExit, type ExitReplyPolicy } from '../../src/delivery/exit-presets.js';
import { formatReply } from '../../src/smtp/reply.js';

const sysexits: ExitReplyPolicy = { codes: new Map(), exitCodes: 'sysexits' };
const mapped: ExitReplyPolicy = { codes: new Map([[3, { code: 250, text: 'kept' }], [4, { code: 452, text: '4.2.2 full' }]]), exitCodes: 'momentum' };

const cases: Array<[string, ExitReplyPolicy, number, string | null, string]> = [
  ['line words a hard failure', sysexits, 67, '5.1.1 No such queue', '550 5.1.1 No such queue'],
  ['line words a soft failure', sysexits, 75, '4.2.2 Mailbox full', '451 4.2.2 Mailbox full'],
  ['4.x.x on a hard failure: ignored', sysexits, 67, '4.2.2 Mailbox full', '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)'],
  ['5.x.x on a soft failure: ignored', sysexits, 75, '5.1.1 x', '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)'],
  ['2.x.x on a failure: ignored', sysexits, 75, '2.0.0 ok', '451 4.3.0 temporary failure (pipe transport gave exit status 75, EX_TEMPFAIL)'],
  ['exit 0: the line is never used', sysexits, 0, '5.1.1 x', '250 2.0.0 Ok: queued as Q'],
  ['a mapped 2xx stays, line or not', mapped, 3, '5.1.1 x', '250 kept'],
  ['a mapped 4xx takes a 4.x.x line', mapped, 4, '4.7.1 greylisted', '452 4.7.1 greylisted'],
  ['a code alone keeps the default words', sysexits, 67, '5.1.6', '550 5.1.6 user unknown (pipe transport gave exit status 67, EX_NOUSER)'],
  ['leading zero: not RFC 3463, ignored', sysexits, 67, '5.01.1 x', '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)'],
  ['four digits: not RFC 3463, ignored', sysexits, 67, '5.1.1000 x', '550 5.1.1 user unknown (pipe transport gave exit status 67, EX_NOUSER)'],
  ['trailing CR removed', sysexits, 67, '5.1.1 bye\r', '550 5.1.1 bye'],
  ['controls and non-ASCII become "?"', sysexits, 67, '5.1.1 a\u0000b\u001bc\u007fd\u00e9\u20ac', '550 5.1.1 a?b?c?d??'],
  ['capped at 200 characters', sysexits, 67, `5.1.1 ${'y'.repeat(500)}`, `550 5.1.1 ${'y'.repeat(200)}`],
];

for (const [name, policy, status, line, expected] of cases) {
  test(`replyForExit: ${name}`, () => {
    assert.equal(formatReply(replyForExit(policy, status, 'Q', line)), expected);
  });
}

test('replyForExit: no line a failed program writes turns its reply into a 2xx or changes its class', () => {
  const lines = ['2.0.0 ok', '4.0.0 x', '5.0.0 y', '4.9.9 \r\n250 ok', '5.1.1 \n250 ok', ''];
  for (const preset of ['momentum', 'sysexits', 'qmail'] as const) {
    for (let status = 1; status <= 255; status++) {
      const policy: ExitReplyPolicy = { codes: new Map(), exitCodes: preset };
      const base = replyForExit(policy, status, 'Q');
      for (const line of lines) {
        const reply = replyForExit(policy, status, 'Q', line);
        assert.equal(reply.code, base.code);
        assert.ok(/^[\x20-\x7e]*$/.test(reply.text), JSON.stringify(reply));
      }
    }
  }
});
