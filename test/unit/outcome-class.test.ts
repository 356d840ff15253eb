// classifyOutcome: the one place that says what an outcome means for the log and the metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyOutcome, type OutcomeClass } from '../../src/delivery/outcome-class.js';
import type { DeliveryOutcome } from '../../src/delivery/outcome-reply.js';
import type { PoolOutcome } from '../../src/pool/task.js';

const run = { pid: 7, killFailures: [], statusLine: null, stderrTail: null } as const;
const failed = (kind: 'spawn-failed' | 'output-failed', errorCode: string): PoolOutcome =>
  kind === 'spawn-failed'
    ? { kind, errorCode, message: errorCode }
    : { kind, errorCode, message: errorCode };

const cases: Array<[string, DeliveryOutcome, OutcomeClass]> = [
  ['exit 0', { kind: 'exited', exitCode: 0, stdinError: null, ...run }, { level: 'info', message: 'delivery', run: 'ok' }],
  ['exit 75', { kind: 'exited', exitCode: 75, stdinError: null, ...run }, { level: 'info', message: 'delivery', run: 'exit_nonzero' }],
  ['signal', { kind: 'signaled', signal: 'SIGKILL', ...run }, { level: 'info', message: 'delivery', run: 'signal' }],
  ['timeout', { kind: 'timed-out', signal: 'SIGTERM', ...run }, { level: 'info', message: 'delivery', run: 'timeout' }],
  ['ENOENT', failed('spawn-failed', 'ENOENT'), { level: 'error', message: 'delivery failed: configuration fault', run: 'spawn_error' }],
  ['EAGAIN', failed('spawn-failed', 'EAGAIN'), { level: 'warn', message: 'delivery failed: resource shortage', run: 'spawn_error' }],
  ['E2BIG', failed('spawn-failed', 'E2BIG'), { level: 'warn', message: 'delivery failed: argument list too long', run: 'spawn_error' }],
  ['output EACCES', failed('output-failed', 'EACCES'), { level: 'error', message: 'delivery failed: configuration fault', run: 'output_failed' }],
  ['output ENOSPC', failed('output-failed', 'ENOSPC'), { level: 'warn', message: 'delivery failed: resource shortage', run: 'output_failed' }],
  ['bare LF', { kind: 'content-rejected' }, { level: 'info', message: 'delivery refused: bare CR or LF in content', run: null }],
  ['mail loop', { kind: 'loop-detected', receivedHeaders: 51, deliveredTo: null }, { level: 'info', message: 'delivery refused: mail loop', run: null }],
  ['pool busy', { kind: 'pool-busy' }, { level: 'info', message: 'delivery', run: null }],
  ['disk full', { kind: 'spool-failed', errorCode: 'ENOSPC' }, { level: 'warn', message: 'delivery refused: spool file failed', run: null }],
  ['client gone', { kind: 'client-gone' }, { level: 'info', message: 'delivery dropped: client left before the program started', run: null }],
  ['worker error', { kind: 'pool-failed', message: 'x' }, { level: 'error', message: 'delivery failed: worker error', run: 'pool_failed' }],
];

for (const [name, outcome, expected] of cases) {
  test(`classifyOutcome: ${name}`, () => assert.deepEqual(classifyOutcome(outcome), expected));
}
