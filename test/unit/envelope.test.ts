import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandArguments, programEnvironment, usesPerRecipientMacro, type Envelope } from '../../src/delivery/envelope.js';
import { makeTransport } from '../helpers/transport.js';

const envelope: Envelope = {
  queueId: 'Q1',
  sender: 'alice@origin.test',
  recipients: ['bob@example.com', 'carol@example.com'],
  clientAddress: '127.0.0.1',
  clientHelo: 'client.test',
  size: 1234,
  transport: 'tickets',
};

const cases: Array<[string[], string[]]> = [
  [['/bin/prog'], []],
  [['/bin/prog', '-f', '${sender}'], ['-f', 'alice@origin.test']],
  [['/bin/prog', '${recipients}'], ['bob@example.com', 'carol@example.com']],
  [['/bin/prog', '--to=${recipients}'], ['--to=${recipients}']], // only a whole argument expands per recipient
  [['/bin/prog', '${recipient}', '${local}', '${domain}'], ['bob@example.com', 'bob', 'example.com']],
  [['/bin/prog', 'id=${queue_id};c=${client_address};h=${client_helo};s=${size};t=${transport}'], ['id=Q1;c=127.0.0.1;h=client.test;s=1234;t=tickets']],
  [['/bin/prog', '${sender}${sender}'], ['alice@origin.testalice@origin.test']],
  [['/bin/prog', '$(id)', '`id`', '${unknown}'], ['$(id)', '`id`', '${unknown}']],
];

for (const [template, expected] of cases) {
  test(`expandArguments ${JSON.stringify(template.slice(1))}`, () => {
    assert.deepEqual(expandArguments(template, envelope), expected);
  });
}

test('a macro value is never split or re-expanded', () => {
  const hostile = { ...envelope, sender: 'a b ${recipient} $(rm -rf /)@x' };
  assert.deepEqual(expandArguments(['/p', '${sender}'], hostile), ['a b ${recipient} $(rm -rf /)@x']);
});

test('per-recipient macros are detected', () => {
  assert.equal(usesPerRecipientMacro(['/p', '${recipient}']), true);
  assert.equal(usesPerRecipientMacro(['/p', 'x-${domain}']), true);
  assert.equal(usesPerRecipientMacro(['/p', '${local}']), true);
  assert.equal(usesPerRecipientMacro(['/p', '${recipients}', '${sender}']), false);
});

test('programEnvironment is the contract, nothing inherited', () => {
  const env = programEnvironment(makeTransport({ name: 'tickets', env: { API_URL: 'http://x', PATH: '/opt/bin' } }), envelope);
  assert.deepEqual(env, {
    PATH: '/opt/bin',
    API_URL: 'http://x',
    SENDER: 'alice@origin.test',
    RECIPIENT: 'bob@example.com',
    RECIPIENTS: 'bob@example.com\ncarol@example.com',
    DOMAIN: 'example.com',
    LOCAL: 'bob',
    QUEUE_ID: 'Q1',
    CLIENT_ADDRESS: '127.0.0.1',
    CLIENT_HELO: 'client.test',
    SIZE: '1234',
    TRANSPORT: 'tickets',
  });
});

test('contract variables cannot be overridden by env entries', () => {
  const env = programEnvironment(makeTransport({ env: { SENDER: 'forged' } }), envelope);
  assert.equal(env.SENDER, 'alice@origin.test');
});
