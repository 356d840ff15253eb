// The per-transaction argv+env size: never below what the dispatcher will hand to execve.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandArguments, programEnvironment, type Envelope } from '../../src/delivery/envelope.js';
import { createExecBudget, EXEC_BUDGET_BYTES, execBytesOf } from '../../src/delivery/exec-size.js';
import { makeTransport, programTemplate } from '../helpers/transport.js';

const base = { sender: 'alice@origin.test', clientAddress: '192.0.2.7', clientHelo: 'client.test' };

/** What execve gets for a real envelope, measured the way exec-size counts. */
function actualBytes(argvTemplate: string[], env: Record<string, string>, recipients: string[]): number {
  const transport = makeTransport({ program: programTemplate(argvTemplate), env });
  const envelope: Envelope = { ...base, recipients, queueId: 'MX9Y4TOXFF907000002', size: 123456, transport: transport.name };
  return execBytesOf(transport.program.path, expandArguments(transport.program, envelope).args, programEnvironment(transport, envelope));
}

const templates: string[][] = [
  ['/bin/cat'],
  ['/usr/bin/prog', '${recipients}'],
  ['/usr/bin/prog', '-f', '${sender}', '${recipients}', '--', '${recipients}'],
  ['/usr/bin/prog', 'q=${queue_id}', 's=${size}', 'h=${client_helo}', 'c=${client_address}', '${transport}'],
  ['/usr/bin/prog', '${recipient}', '${local}', '${domain}'],
];

for (const template of templates) {
  test(`the budget counts at least what execve gets: ${JSON.stringify(template)}`, () => {
    const env = { API_URL: 'https://tickets.example/api', 'Ü': 'ünïcode' };
    const budget = createExecBudget(makeTransport({ program: programTemplate(template), env }), base);
    const recipients: string[] = [];
    const many = template.some((arg) => arg === '${recipient}') ? 1 : 50;
    for (let i = 0; i < many; i++) {
      const recipient = `${'r'.repeat(i % 60)}${i}@${'d'.repeat(i % 40)}example.com`;
      assert.equal(budget.tryAdd(recipient), true);
      recipients.push(recipient);
      const actual = actualBytes(template, env, recipients);
      // Only the queue ID and size placeholders (at their longest, in argv and env) may make it larger.
      assert.ok(budget.bytes >= actual, `${budget.bytes} < ${actual}`);
      assert.ok(budget.bytes - actual <= 2 * (64 + 16), `${budget.bytes} - ${actual} is more than the placeholders`);
    }
  });
}

test('recipients past the budget are refused; what was accepted still fits', () => {
  const template = ['/usr/bin/prog', '${recipients}'];
  const budget = createExecBudget(makeTransport({ program: programTemplate(template) }), base);
  const recipients: string[] = [];
  const long = (i: number) => `${String(i).padStart(5, '0')}${'x'.repeat(59)}@${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.test`;
  let i = 0;
  while (budget.tryAdd(long(i))) recipients.push(long(i++));
  assert.ok(recipients.length > 100 && recipients.length < 300, `${recipients.length} recipients of ${long(0).length} octets`);
  assert.ok(actualBytes(template, {}, recipients) <= EXEC_BUDGET_BYTES);
  assert.equal(budget.tryAdd(long(i)), false, 'stays refused');
  assert.equal(budget.tryAdd('a@b.test'), true, 'a short one may still fit');
});

test('an environment too big for any recipient refuses the first one', () => {
  const budget = createExecBudget(makeTransport({ env: { BIG: 'x'.repeat(EXEC_BUDGET_BYTES) } }), base);
  assert.equal(budget.tryAdd('a@example.com'), false);
  assert.equal(budget.bytes, 0);
});

test('SMTPUTF8 addresses are counted in UTF-8 octets, as execve counts them, not UTF-16 units', () => {
  const template = ['/usr/bin/prog', '${sender}', '${recipients}'];
  const utf8Base = { ...base, sender: '送信者@例子.广告' };
  const transport = makeTransport({ program: programTemplate(template) });
  const budget = createExecBudget(transport, utf8Base);
  const recipients: string[] = [];
  for (let i = 0; i < 20; i++) {
    const recipient = `${'用户'.repeat(i + 1)}@例子.广告`;
    assert.equal(budget.tryAdd(recipient), true);
    recipients.push(recipient);
  }
  const envelope: Envelope = { ...utf8Base, recipients, queueId: 'MX9Y4TOXFF907000002', size: 123456, transport: transport.name };
  const actual = execBytesOf(transport.program.path, expandArguments(transport.program, envelope).args, programEnvironment(transport, envelope));
  assert.ok(budget.bytes >= actual, `${budget.bytes} < ${actual}`);
  assert.ok(budget.bytes - actual <= 2 * (64 + 16), `${budget.bytes} - ${actual} is more than the placeholders`);
});
