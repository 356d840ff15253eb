import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapOutcomeToReply } from '../../src/delivery/outcome-reply.js';
import type { PoolOutcome } from '../../src/pool/task.js';
import { formatReply } from '../../src/smtp/reply.js';
import type { MappedReply } from '../../src/config/types.js';

const noCodes = new Map<number, MappedReply>();
const codes = new Map<number, MappedReply>([
  [0, { code: 250, text: 'ok' }],
  [100, { code: 550, text: 'command failed' }],
  [111, { code: 450, text: 'try again later' }],
]);
const base = { pid: 42, killFailures: [], statusLine: null, stderrTail: null };

const cases: Array<[string, PoolOutcome, ReadonlyMap<number, MappedReply>, string]> = [
  ['exit 0', { kind: 'exited', exitCode: 0, stdinError: null, ...base }, noCodes, '250 2.0.0 Ok: queued as QID1'],
  ['exit 1', { kind: 'exited', exitCode: 1, stdinError: null, ...base }, noCodes, '504 5.5.0 pipe transport gave exit status 1'],
  ['exit 255', { kind: 'exited', exitCode: 255, stdinError: null, ...base }, noCodes, '504 5.5.0 pipe transport gave exit status 255'],
  ['mapped 0 verbatim', { kind: 'exited', exitCode: 0, stdinError: null, ...base }, codes, '250 ok'],
  ['mapped 100 verbatim', { kind: 'exited', exitCode: 100, stdinError: null, ...base }, codes, '550 command failed'],
  ['mapped 111 verbatim', { kind: 'exited', exitCode: 111, stdinError: null, ...base }, codes, '450 try again later'],
  ['unmapped with a map', { kind: 'exited', exitCode: 3, stdinError: null, ...base }, codes, '504 5.5.0 pipe transport gave exit status 3'],
  ['EPIPE: status decides', { kind: 'exited', exitCode: 0, stdinError: 'EPIPE', ...base }, noCodes, '250 2.0.0 Ok: queued as QID1'],
  ['signal', { kind: 'signaled', signal: 'SIGSEGV', ...base }, codes, '451 4.3.0 pipe transport program killed by signal SIGSEGV'],
  ['timeout', { kind: 'timed-out', signal: 'SIGTERM', ...base }, codes, '451 4.3.0 pipe transport program timed out after 60 s'],
  ['spawn ENOENT', { kind: 'spawn-failed', errorCode: 'ENOENT', message: 'x' }, codes, '451 4.3.0 pipe transport program could not be started'],
  ['output file', { kind: 'output-failed', errorCode: 'EACCES', message: 'x' }, codes, '451 4.3.0 pipe transport output file unavailable'],
  ['pool busy', { kind: 'pool-busy' }, codes, '451 4.3.2 system busy, try again later'],
  ['worker died', { kind: 'pool-failed', message: 'worker exited' }, codes, '451 4.3.0 local delivery failed, try again later'],
];

for (const [name, outcome, table, expected] of cases) {
  test(`outcome ${name} -> ${expected}`, () => {
    assert.equal(formatReply(mapOutcomeToReply(outcome, table, 'QID1', 60000)), expected);
  });
}

test('every exit status 1-255 without a map is a 504 naming it', () => {
  for (let status = 1; status <= 255; status++) {
    const reply = mapOutcomeToReply({ kind: 'exited', exitCode: status, stdinError: null, ...base }, noCodes, 'Q', 1000);
    assert.equal(formatReply(reply), `504 5.5.0 pipe transport gave exit status ${status}`);
  }
});
