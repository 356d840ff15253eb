// The backoff before a dead front end is started again (src/ops/cluster-primary.ts): at
// once after a stable run, then 1 s doubling to 30 s while it keeps dying.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartDelayMs } from '../../src/ops/cluster-primary.js';

test('restartDelayMs: 0, then 1 s doubling, at most 30 s', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 20].map(restartDelayMs);
  assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
});
