// Properties of mapOutcomeToReply that hold whatever the exact texts: the classes of the
// replies and what the `code` map may change. The texts themselves are checked against the
// one written table, docs/operations.md, by test/unit/reply-table-doc.test.ts.
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import fc from 'fast-check';
import { mapOutcomeToReply, type DeliveryOutcome } from '../../src/delivery/outcome-reply.js';
import type { PoolOutcome } from '../../src/pool/task.js';
import { formatReply } from '../../src/smtp/reply.js';
import type { MappedReply } from '../../src/config/types.js';

const SIGNALS = Object.keys(os.constants.signals);
const RUNS = { seed: 0x0c0de5, numRuns: 2000 };

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

/** A code map with at least one entry, and one of the statuses it maps. */
const mappedStatus = codeMap
  .filter((codes) => codes.size > 0)
  .chain((codes) => fc.tuple(fc.constant(codes), fc.constantFrom(...codes.keys())));

const queueId = fc.stringMatching(/^[0-9A-Z]{6,20}$/);
const timeoutMs = fc.integer({ min: 1, max: 2147483 }).map((s) => s * 1000);
const run = { pid: 4242, killFailures: [], statusLine: null, stderrTail: null };

const exitedOutcome = fc.record({
  exitCode: fc.integer({ min: 0, max: 255 }),
  stdinError: fc.constantFrom(null, 'EPIPE'),
}).map((o): PoolOutcome => ({ kind: 'exited', ...o, ...run }));

const signal = fc.constantFrom(...SIGNALS);
/** Every outcome in which the program did not exit by itself, or never ran. */
const otherOutcome: fc.Arbitrary<DeliveryOutcome> = fc.oneof(
  signal.map((s): PoolOutcome => ({ kind: 'signaled', signal: s, ...run })),
  fc.option(signal, { nil: null }).map((s): PoolOutcome => ({ kind: 'timed-out', signal: s, ...run })),
  fc.constantFrom('ENOENT', 'EACCES', 'EMFILE').map((e): PoolOutcome => ({ kind: 'spawn-failed', errorCode: e, message: e })),
  fc.constant<PoolOutcome>({ kind: 'output-failed', errorCode: 'EACCES', message: 'EACCES' }),
  fc.constant<DeliveryOutcome>({ kind: 'content-rejected' }),
  fc.constant<DeliveryOutcome>({ kind: 'loop-detected', receivedHeaders: 51, deliveredTo: null }),
  fc.constantFrom('ENOSPC', 'EDQUOT', 'EIO', 'EACCES').map((e): DeliveryOutcome => ({ kind: 'spool-failed', errorCode: e })),
  fc.constant<PoolOutcome>({ kind: 'pool-busy' }),
  fc.constant<PoolOutcome>({ kind: 'pool-failed', message: 'worker exited' }),
);

const anyOutcome = fc.oneof(exitedOutcome, otherOutcome);

function isMapped(outcome: DeliveryOutcome, codes: ReadonlyMap<number, MappedReply>): boolean {
  return outcome.kind === 'exited' && codes.has(outcome.exitCode);
}

test('a mapped exit status gets its code map entry verbatim, stdin error or not', () => {
  fc.assert(
    fc.property(mappedStatus, fc.constantFrom(null, 'EPIPE'), queueId, timeoutMs, ([codes, exitCode], stdinError, qid, ms) => {
      const outcome: PoolOutcome = { kind: 'exited', exitCode, stdinError, ...run };
      assert.deepEqual(mapOutcomeToReply(outcome, codes, qid, ms), codes.get(exitCode));
    }),
    RUNS,
  );
});

test('a 2xx only for exit 0 or a status the code map sends as 2xx; unmapped exit 0 is 250 naming the queue ID', () => {
  fc.assert(
    fc.property(fc.oneof(fc.constant(new Map<number, MappedReply>()), codeMap), anyOutcome, queueId, timeoutMs, (codes, outcome, qid, ms) => {
      const reply = mapOutcomeToReply(outcome, codes, qid, ms);
      const mapped = isMapped(outcome, codes);
      const exitedZero = outcome.kind === 'exited' && outcome.exitCode === 0;
      if (reply.code < 300) assert.ok(exitedZero || (mapped && reply.code === codes.get((outcome as { exitCode: number }).exitCode)?.code));
      if (exitedZero && !mapped) {
        assert.equal(reply.code, 250);
        assert.ok(reply.text.endsWith(` ${qid}`), reply.text);
      }
    }),
    RUNS,
  );
});

test('an unmapped non-zero exit status is a permanent failure that names the status', () => {
  fc.assert(
    fc.property(fc.oneof(fc.constant(new Map<number, MappedReply>()), codeMap), exitedOutcome, queueId, timeoutMs, (codes, outcome, qid, ms) => {
      const status = (outcome as { exitCode: number }).exitCode;
      fc.pre(status !== 0 && !codes.has(status));
      const reply = mapOutcomeToReply(outcome, codes, qid, ms);
      assert.equal(Math.floor(reply.code / 100), 5, formatReply(reply));
      assert.match(reply.text, new RegExp(`\\b${status}$`));
    }),
    RUNS,
  );
});

test('signals, timeouts, start and pool failures tempfail (4xx), whatever the code map; bare newlines and loops are 5xx', () => {
  fc.assert(
    fc.property(codeMap, otherOutcome, queueId, timeoutMs, (codes, outcome, qid, ms) => {
      const reply = mapOutcomeToReply(outcome, codes, qid, ms);
      // The code map applies to exit statuses only: the same reply without it.
      assert.deepEqual(reply, mapOutcomeToReply(outcome, new Map(), qid, ms));
      const expectedClass = outcome.kind === 'content-rejected' || outcome.kind === 'loop-detected' ? 5 : 4;
      assert.equal(Math.floor(reply.code / 100), expectedClass, `${outcome.kind}: ${formatReply(reply)}`);
      if (outcome.kind === 'signaled') assert.ok(reply.text.includes(outcome.signal), reply.text);
      if (outcome.kind === 'timed-out') assert.ok(reply.text.includes(`${ms / 1000} s`), reply.text);
    }),
    RUNS,
  );
});

test("smtpipe's own replies carry an RFC 3463 code of their own class (2.x.x for 2xx, ...)", (t) => {
  let checked = 0;
  fc.assert(
    fc.property(fc.oneof(fc.constant(new Map<number, MappedReply>()), codeMap), anyOutcome, queueId, timeoutMs, (codes, outcome, qid, ms) => {
      fc.pre(!isMapped(outcome, codes));
      const line = formatReply(mapOutcomeToReply(outcome, codes, qid, ms));
      assert.match(line, /^([245])\d\d \1\.\d{1,3}\.\d{1,3} \S/, line);
      checked += 1;
    }),
    RUNS,
  );
  assert.ok(SIGNALS.length >= 30, `os.constants.signals names ${SIGNALS.length} signals`);
  t.diagnostic(`${checked} unmapped outcomes checked over ${SIGNALS.length} signals and 256 exit statuses`);
});
