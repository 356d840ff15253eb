// The bounded per-address rate table: GCRA limits, recovery, and memory that stays at its
// capacity whatever the number of addresses (src/smtp/rate-throttle.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRateThrottle } from '../../src/smtp/rate-throttle.js';

// A real collection before each heap reading: garbage strings are not the table's.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const clock = () => {
  let ms = 0;
  return { now: () => ms, advance: (by: number) => (ms += by) };
};

test('20/60: a burst of 20 passes, the 21st is refused, one more every 3 s, all after 60 s', () => {
  const time = clock();
  const throttle = createRateThrottle(time.now);
  const rate = { count: 20, seconds: 60 };
  for (let i = 0; i < 20; i += 1) assert.equal(throttle.take('192.0.2.1', rate), true, `event ${i + 1}`);
  assert.equal(throttle.take('192.0.2.1', rate), false);
  assert.equal(throttle.take('192.0.2.2', rate), true, 'another address has its own bucket');
  time.advance(2999);
  assert.equal(throttle.take('192.0.2.1', rate), false);
  time.advance(1);
  assert.equal(throttle.take('192.0.2.1', rate), true);
  assert.equal(throttle.take('192.0.2.1', rate), false);
  time.advance(60_000);
  for (let i = 0; i < 20; i += 1) assert.equal(throttle.take('192.0.2.1', rate), true);
  assert.equal(throttle.take('192.0.2.1', rate), false);
});

test('a client within N per S is never refused; one sending twice as fast gets at most N + N*t/S', () => {
  const time = clock();
  const throttle = createRateThrottle(time.now);
  const rate = { count: 3, seconds: 1 };
  // Exactly 3 per second, evenly spaced (float steps of 333.33 ms).
  for (let i = 0; i < 300; i += 1) {
    assert.equal(throttle.take('a', rate), true, `compliant event ${i}`);
    time.advance(1000 / 3);
  }
  let admitted = 0;
  for (let i = 0; i < 600; i += 1) {
    if (throttle.take('b', rate)) admitted += 1;
    time.advance(1000 / 6);
  }
  // 100 s at twice the rate: at most 3 + 3 * 100.
  assert.ok(admitted <= 303 && admitted >= 300, `admitted ${admitted}`);
  assert.equal(throttle.take('c', null), true, 'no rate: no limit');
  assert.equal(throttle.take('c', { count: 0, seconds: 1 }), true);
});

test('100k distinct addresses: the table stays at its capacity, and a busy client is not forgotten', () => {
  const time = clock();
  const capacity = 10_000;
  const throttle = createRateThrottle(time.now, capacity);
  const rate = { count: 5, seconds: 60 };
  for (let i = 0; i < 5; i += 1) throttle.take('203.0.113.7', rate);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i += 1) {
    throttle.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, rate);
    // The busy client keeps knocking (refused): it stays among the recently seen.
    if (i % 1000 === 0) assert.equal(throttle.take('203.0.113.7', rate), false);
    assert.ok(throttle.size <= capacity);
  }
  assert.equal(throttle.size, capacity);
  assert.equal(throttle.take('203.0.113.7', rate), false, 'still throttled after 100k others');
  gc();
  const grownMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  // 10k entries of ~100 bytes: about 1 MB, never 100k entries' worth.
  assert.ok(grownMb < 4, `heap grew ${grownMb.toFixed(1)} MB`);
});

test('the default capacity holds 65536 addresses under 100k distinct ones', () => {
  const throttle = createRateThrottle(() => 0);
  for (let i = 0; i < 100_000; i += 1) throttle.take(`2001:db8::${i.toString(16)}`, { count: 1, seconds: 60 });
  assert.equal(throttle.size, 65_536);
});
