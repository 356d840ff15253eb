import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createQueueIdGenerator } from '../../src/delivery/queue-id.js';

test('queue IDs are unique within a process and across generators started at the same ms', () => {
  const now = Date.now();
  const a = createQueueIdGenerator(now);
  const b = createQueueIdGenerator(now);
  const seen = new Set<string>();
  for (let i = 0; i < 50000; i++) {
    seen.add(a());
    seen.add(b());
  }
  assert.equal(seen.size, 100000);
  for (const id of [...seen].slice(0, 100)) assert.match(id, /^[0-9A-Z]+$/);
});
