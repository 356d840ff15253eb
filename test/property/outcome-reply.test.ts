// Property: mapOutcomeToReply follows the README "Replies" table for every exit status
// 0-255 and every signal this platform names, with and without a `code` map.
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import fc from 'fast-check';
import { mapOutcomeToReply } from '../../src/delivery/outcome-reply.js';
import type { PoolOutcome } from '../../src/pool/task.js';
import { formatReply } from '../../src/smtp/reply.js';
import type { MappedReply } from '../../src/config/types.js';

const SIGNALS = Object.keys(os.constants.signals);

/** The README table, written out independently of the implementation. */
function documentedReply(outcome: PoolOutcome, codes: ReadonlyMap<number, MappedReply>, queueId: string, timeoutMs: number): string {
  switch (outcome.kind) {
    case 'exited': {
      const mapped = codes.get(outcome.exitCode);
      if (mapped !== undefined) return `${mapped.code} ${mapped.text}`;
      return outcome.exitCode === 0 ? `250 2.0.0 Ok: queued as ${queueId}` : `504 5.5.0 pipe transport gave exit status ${outcome.exitCode}`;
    }
    // The code map applies to exit statuses only: signals and timeouts always tempfail.
    case 'signaled':
      return `451 4.3.0 pipe transport program killed by signal ${outcome.signal}`;
    case 'timed-out':
      return `451 4.3.0 pipe transport program timed out after ${timeoutMs / 1000} s`;
    case 'spawn-failed':
      return '451 4.3.0 pipe transport program could not be started';
    case 'output-failed':
      return '451 4.3.0 pipe transport output file unavailable';
    case 'content-rejected':
      return '550 5.6.0 message contains a bare CR or LF (RFC 5321 2.3.8)';
    case 'pool-busy':
      return '451 4.3.2 system busy, try again later';
    case 'pool-failed':
      return '451 4.3.0 local delivery failed, try again later';
  }
}

const codeMap = fc
  .uniqueArray(
    fc.record({
      status: fc.integer({ min: 0, max: 255 }),
      code: fc.oneof(fc.integer({ min: 200, max: 299 }), fc.integer({ min: 400, max: 599 })),
      text: fc.stringMatching(/^[0-9a-zA-Z.][ -~]{0,30}$/),
    }),
    { selector: (c) => c.status, maxLength: 20 },
  )
  .map((list) => new Map<number, MappedReply>(list.map((c) => [c.status, { code: c.code, text: c.text }])));

const queueId = fc.stringMatching(/^[0-9A-Z]{6,20}$/);

function allOutcomes(): PoolOutcome[] {
  const base = { pid: 4242, killFailures: [] };
  return [
    ...Array.from({ length: 256 }, (_, exitCode): PoolOutcome => ({ kind: 'exited', exitCode, stdinError: null, ...base })),
    ...Array.from({ length: 256 }, (_, exitCode): PoolOutcome => ({ kind: 'exited', exitCode, stdinError: 'EPIPE', ...base })),
    ...SIGNALS.map((signal): PoolOutcome => ({ kind: 'signaled', signal, ...base })),
    ...SIGNALS.map((signal): PoolOutcome => ({ kind: 'timed-out', signal, ...base })),
    { kind: 'timed-out', signal: null, ...base },
    { kind: 'spawn-failed', errorCode: 'ENOENT', message: 'spawn ENOENT' },
    { kind: 'output-failed', errorCode: 'EACCES', message: 'output_file /x: EACCES' },
    { kind: 'content-rejected' },
    { kind: 'pool-busy' },
    { kind: 'pool-failed', message: 'worker exited' },
  ];
}

test('every exit status and signal, with and without a code map: the documented reply', (t) => {
  assert.ok(SIGNALS.length >= 30, `os.constants.signals names ${SIGNALS.length} signals`);
  let checked = 0;
  const withoutMap = new Map<number, MappedReply>();
  fc.assert(
    fc.property(fc.oneof(fc.constant(withoutMap), codeMap), queueId, fc.integer({ min: 1, max: 2147483 }), (codes, qid, timeoutSeconds) => {
      for (const outcome of allOutcomes()) {
        const reply = mapOutcomeToReply(outcome, codes, qid, timeoutSeconds * 1000);
        const line = formatReply(reply);
        assert.equal(line, documentedReply(outcome, codes, qid, timeoutSeconds * 1000), JSON.stringify(outcome));
        const mapped = outcome.kind === 'exited' && codes.has(outcome.exitCode);
        if (!mapped) {
          // Our own replies carry an RFC 3463 code of their own class (2.x.x for 2xx, ...).
          assert.match(line, /^([245])\d\d \1\.\d{1,3}\.\d{1,3} \S/, line);
        }
        checked += 1;
      }
    }),
    { seed: 0x0c0de5, numRuns: 150 },
  );
  t.diagnostic(`${checked} outcomes checked over ${SIGNALS.length} signals and 256 exit statuses`);
});
