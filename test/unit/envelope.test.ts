import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandArguments, programEnvironment, type Envelope } from '../../src/delivery/envelope.js';
import { makeTransport, programTemplate } from '../helpers/transport.js';

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
  [['/bin/prog', '${recipient}', '${local}', '${domain}'], ['bob@example.com', 'bob', 'example.com']],
  [['/bin/prog', 'id=${queue_id};c=${client_address};h=${client_helo};s=${size};t=${transport}'], ['id=Q1;c=127.0.0.1;h=client.test;s=1234;t=tickets']],
  [['/bin/prog', '${sender}${sender}'], ['alice@origin.testalice@origin.test']],
  [['/bin/prog', '$(id)', '`id`', '$sender', '}{', ''], ['$(id)', '`id`', '$sender', '}{', '']],
];

for (const [template, expected] of cases) {
  test(`expandArguments ${JSON.stringify(template.slice(1))}`, () => {
    assert.deepEqual(expandArguments(programTemplate(template), envelope), { args: expected, injectedOption: null });
  });
}

test('a macro value is never split or re-expanded', () => {
  const hostile = { ...envelope, sender: 'a b ${recipient} $(rm -rf /)@x' };
  assert.deepEqual(expandArguments(programTemplate(['/p', '${sender}']), hostile).args, ['a b ${recipient} $(rm -rf /)@x']);
});

// Defence in depth: the checks at HELO, MAIL and RCPT keep "-" out of these values; if one
// ever slipped through, the argument that would start with it is reported (never run).
// [template, envelope change, expected: argv index of the first injected option or null]
const injectionCases: Array<[string[], Partial<Envelope>, { index: number; template: string } | null]> = [
  [['/p', '${client_helo}'], { clientHelo: '--output=/etc/passwd' }, { index: 1, template: '${client_helo}' }],
  [['/p', '-f', '${sender}'], { sender: '-oQ/tmp@x' }, { index: 2, template: '${sender}' }],
  [['/p', '${sender}-bounce'], { sender: '' }, { index: 1, template: '${sender}-bounce' }], // empty value, operator's "-" leads
  [['/p', '${recipients}'], { recipients: ['a@x', '-f@x'] }, { index: 2, template: '${recipients}' }],
  [['/p', 'x', '${recipients}'], { recipients: ['a@x', 'b@x', '-c'] }, { index: 4, template: '${recipients}' }],
  [['/p', '${local}'], { recipients: ['-x@y'] }, { index: 1, template: '${local}' }],
  [['/p', '${client_address}'], { clientAddress: '-1' }, { index: 1, template: '${client_address}' }],
  // The operator's own options stay options, whatever follows them.
  [['/p', '--helo=${client_helo}'], { clientHelo: '-x' }, null],
  [['/p', '-f${sender}'], { sender: '-x@y' }, null],
  [['/p', '--', '${sender}'], { sender: 'a@x' }, null],
  [['/p', 'h=${client_helo}'], { clientHelo: '-x' }, null], // "-" not at the start of the argument
  [['/p', '${sender}'], { sender: '' }, null],
];

for (const [template, change, expected] of injectionCases) {
  test(`expandArguments reports an option from client text: ${JSON.stringify(template.slice(1))} ${JSON.stringify(change)}`, () => {
    assert.deepEqual(expandArguments(programTemplate(template), { ...envelope, ...change }).injectedOption, expected);
  });
}

test('${recipients} with 500,000 recipients expands without overflowing the stack', () => {
  const recipients = Array.from({ length: 500_000 }, (_, i) => `r${i}@example.com`);
  const { args, injectedOption } = expandArguments(programTemplate(['/p', '${recipients}']), { ...envelope, recipients });
  assert.equal(args.length, 500_000);
  assert.equal(args[499_999], 'r499999@example.com');
  assert.equal(injectedOption, null);
});

test('the compiled template knows when it names one recipient', () => {
  assert.equal(programTemplate(['/p', '${recipient}']).singleRecipient, true);
  assert.equal(programTemplate(['/p', 'x-${domain}']).singleRecipient, true);
  assert.equal(programTemplate(['/p', '${local}']).singleRecipient, true);
  assert.equal(programTemplate(['/p', '${recipients}', '${sender}']).singleRecipient, false);
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
    // No AUTH in this session: empty, never absent (RFC 4954 user otherwise).
    AUTH_USER: '',
    SIZE: '1234',
    TRANSPORT: 'tickets',
  });
});

test('contract variables cannot be overridden by env entries', () => {
  const env = programEnvironment(makeTransport({ env: { SENDER: 'forged' } }), envelope);
  assert.equal(env.SENDER, 'alice@origin.test');
});
