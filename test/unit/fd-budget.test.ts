// computeSessionLimit: the sessions that fit next to the descriptors the rest needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeSessionLimit, FD_RESERVE, FDS_PER_PROGRAM, FDS_PER_SESSION } from '../../src/ops/fd-budget.js';

// [open file limit, fds in use, concurrent programs, reserved fds, expected sessions]
const cases: Array<[number, number, number, number, number]> = [
  // Each session may hold its socket and its message's spool file.
  [1024, 20, 16, 0, Math.floor((1024 - 20 - 16 * FDS_PER_PROGRAM - FD_RESERVE) / FDS_PER_SESSION)],
  [1024, 20, 16, 16, Math.floor((1024 - 20 - 16 * FDS_PER_PROGRAM - FD_RESERVE - 16) / FDS_PER_SESSION)], // the metrics endpoint's connections
  [65536, 40, 0, 0, Math.floor((65536 - 40 - FD_RESERVE) / FDS_PER_SESSION)],
  [256, 30, 64, 0, 1], // programs alone exceed the limit: still one session, never 0 or less
  [100, 100, 0, 0, 1], // every descriptor already in use
  [Infinity, 20, 16, 0, Number.MAX_SAFE_INTEGER], // RLIMIT_NOFILE unlimited
];

for (const [limit, inUse, programs, reserved, expected] of cases) {
  test(`computeSessionLimit(${limit}, ${inUse}, ${programs}, ${reserved}) = ${expected}`, () => {
    assert.equal(computeSessionLimit(limit, inUse, programs, reserved), expected);
  });
}

test('computeSessionLimit: reservedFds defaults to 0', () => {
  assert.equal(computeSessionLimit(1024, 20, 16), computeSessionLimit(1024, 20, 16, 0));
});
