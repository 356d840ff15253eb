// Momentum's "count/seconds" values (src/config/throttle-rate.ts), through the real parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDiagnosticSink } from '../../src/config/diagnostics.js';
import { parseConfigSource } from '../../src/config/parser.js';
import { readThrottleRate } from '../../src/config/throttle-rate.js';

function read(value: string) {
  const [item] = parseConfigSource(`Inbound_Throttle_Messages = ${value}`, 'test').items;
  assert.equal(item?.kind, 'option');
  const sink = createDiagnosticSink();
  const rate = item?.kind === 'option' ? readThrottleRate(item, sink) : undefined;
  return { rate, errors: sink.errors.length };
}

test('"count/seconds", "count" (per second) and "0" (none); anything else is a config error', () => {
  assert.deepEqual(read('"20/60"'), { rate: { count: 20, seconds: 60 }, errors: 0 });
  assert.deepEqual(read('"3"'), { rate: { count: 3, seconds: 1 }, errors: 0 });
  assert.deepEqual(read('"0"'), { rate: null, errors: 0 });
  assert.deepEqual(read('"100 / 60"'), { rate: { count: 100, seconds: 60 }, errors: 0 });
  for (const bad of ['"20/0"', '"x/60"', '"-1/60"', '"20/60/2"', '"1.5/60"']) assert.equal(read(bad).errors, 1, bad);
});
