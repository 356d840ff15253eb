// Session admission: the order of the checks, per-client counting (from accept, or from a
// PROXY header later), and that each ticket gives its slot back exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSessionBudget } from '../../src/ops/fd-budget.js';
import { createSessionAdmission, type AdmissionLimits, type AdmissionTicket } from '../../src/smtp/session-admission.js';

function setUp(limits: AdmissionLimits, budget = 100) {
  const slots = createSessionBudget(budget);
  const gauge = { opened: 0, closed: 0, released: 0 };
  let current = limits;
  const admission = createSessionAdmission(
    () => current,
    slots,
    { sessionOpened: () => (gauge.opened += 1), sessionClosed: () => (gauge.closed += 1) },
    () => (gauge.released += 1),
  );
  const admit = (client: string | null) => admission.admit(client);
  const ticket = (client: string | null): AdmissionTicket => {
    const result = admit(client);
    assert.ok('ticket' in result, JSON.stringify(result));
    return result.ticket;
  };
  const cause = (client: string | null) => {
    const result = admit(client);
    return 'refusal' in result ? result.refusal.cause : 'admitted';
  };
  return { admission, slots, gauge, ticket, cause, setLimits: (next: AdmissionLimits) => (current = next) };
}

test('Listener_Sessions, then the client, then the fd budget; draining refuses everything', () => {
  const { ticket, cause, setLimits, admission } = setUp({ draining: false, maxSessions: 3, maxSessionsPerClient: 2 }, 3);
  ticket('10.0.0.1');
  ticket('::ffff:10.0.0.1'); // the same client, as a dual-stack socket spells it
  assert.equal(cause('10.0.0.1'), 'client-sessions');
  ticket('10.0.0.2');
  assert.equal(cause('10.0.0.3'), 'listener-sessions');
  setLimits({ draining: false, maxSessions: 10, maxSessionsPerClient: 0 });
  assert.equal(cause('10.0.0.1'), 'fd-budget');
  setLimits({ draining: true, maxSessions: 10, maxSessionsPerClient: 0 });
  assert.equal(cause('10.0.0.4'), 'draining');
  assert.equal(admission.open, 3);
});

test('a release gives back the session, the client and the fd slot, once', () => {
  const { ticket, cause, slots, gauge, admission } = setUp({ draining: false, maxSessions: 1, maxSessionsPerClient: 1 }, 2);
  assert.ok(slots.tryOpen(), 'a session of another listener holds one of the two fd slots');
  const first = ticket('10.0.0.1');
  assert.equal(cause('10.0.0.1'), 'listener-sessions');
  first.release();
  first.release();
  assert.deepEqual([admission.open, gauge.opened, gauge.closed, gauge.released], [0, 1, 1, 1]);
  // Given back once: one slot is free, the other listener's is still held.
  assert.deepEqual([slots.tryOpen(), slots.tryOpen()], [true, false]);
  slots.close();
  ticket('10.0.0.1');
});

test('behind PROXY: counted at accept, the client claimed from the header', () => {
  const { ticket, admission } = setUp({ draining: false, maxSessions: 10, maxSessionsPerClient: 1 });
  const a = ticket(null);
  const b = ticket(null);
  assert.equal(admission.open, 2);
  assert.equal(a.claimClient('203.0.113.7'), null);
  assert.equal(b.claimClient('203.0.113.7')?.reply.text, '4.7.0 too many sessions from your address');
  assert.equal(ticket(null).claimClient('203.0.113.8'), null);
  b.release();
  a.release();
  assert.equal(ticket(null).claimClient('203.0.113.7'), null, 'the header client was given back');
});
