// Tests of src/report.ts and table.ts: the -j field names a comparison
// harness depends on, per-second sample statistics, exit status, and the tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchArgs, type BenchOptions } from '../src/args.js';
import { formatProgress } from '../src/progress.js';
import { exitStatus, formatBytes, formatHeader, formatReport, summarizeSamples, toJsonResult } from '../src/report.js';
import type { RunResult } from '../src/run.js';
import { PERCENTILES, type HistogramSummary } from '../src/stats.js';
import { renderTable } from '../src/table.js';

function options(...argv: string[]): BenchOptions {
  const parsed = parseBenchArgs([...argv, 'smtp://127.0.0.1:2525']);
  if (parsed.kind !== 'run') throw new Error(`bad test argv: ${argv.join(' ')}`);
  return parsed.options;
}

/** A histogram summary whose percentile p is p * 10 microseconds. */
const histogram = (count: number): HistogramSummary => ({
  count,
  min: 5,
  max: 2000,
  mean: 400,
  stdev: 100,
  percentiles: PERCENTILES.map((p) => p * 10),
});

function result(overrides: Partial<RunResult> = {}): RunResult {
  return {
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:10.000Z',
    elapsedMs: 10012.4,
    sent: 100,
    ok2xx: 100,
    fail4xx: 0,
    fail5xx: 0,
    errors: 0,
    timeouts: 0,
    resets: 0,
    errorCodes: {},
    bytesSent: 212_000,
    connectionsOpened: 10,
    pipelinedConnections: 0,
    repliesPerSecond: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
    bytesPerSecond: [21200, 21200, 21200, 21200, 21200, 21200, 21200, 21200, 21200, 21200],
    latencyUs: histogram(100),
    latencyUncorrectedUs: null,
    phasesUs: { connect: histogram(10), ehlo: histogram(10), mail: histogram(100), rcpt: histogram(100), data: histogram(100), dot: histogram(100) },
    ...overrides,
  };
}

test('the -j object keeps the field names the comparison harness reads', () => {
  const json = toJsonResult(options('-c', '10', '--per-conn', '1', '--rcpts', '2'), result());
  const latencyKeys = ['p2_5', 'p50', 'p97_5', 'p99', 'p99_9', 'mean', 'stdev', 'max'];
  for (const key of ['target', 'connections', 'durationSeconds', 'size', 'perConnection', 'rcpts', 'messages', 'errors', 'timeouts', 'resets', 'msgsPerSecond', 'bytesPerSecond', 'latencyMs', 'phasesMs', 'startedAt', 'finishedAt']) {
    assert.ok(key in json, key);
  }
  assert.deepEqual(Object.keys(json.messages), ['sent', 'ok2xx', 'fail4xx', 'fail5xx']);
  for (const key of ['mean', 'stdev', 'min', 'max', 'p50']) assert.equal(typeof json.msgsPerSecond[key as keyof typeof json.msgsPerSecond], 'number', key);
  for (const key of ['mean', 'stdev', 'min', 'max']) assert.equal(typeof json.bytesPerSecond[key as keyof typeof json.bytesPerSecond], 'number', key);
  for (const key of latencyKeys) assert.equal(typeof json.latencyMs[key as keyof typeof json.latencyMs], 'number', key);
  assert.deepEqual(Object.keys(json.phasesMs), ['connect', 'ehlo', 'mail', 'rcpt', 'data', 'dot']);
  assert.equal(json.target, 'smtp://127.0.0.1:2525');
  assert.equal(json.connections, 10);
  assert.equal(json.durationSeconds, 10.012);
  assert.equal(json.size, 2048);
  assert.equal(json.perConnection, 1);
  assert.equal(json.rcpts, 2);
  assert.equal(json.latencyMs.p50, 0.5, 'microseconds become milliseconds');
  assert.equal(json.latencyMs.p97_5, 0.975);
  assert.equal(json.latencyMs.max, 2);
  assert.equal(json.msgsPerSecond.mean, 10);
  assert.equal('latencyUncorrectedMs' in json, false);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(json)));
});

test('-R adds latencyUncorrectedMs', () => {
  const json = toJsonResult(options('-R', '100'), result({ latencyUncorrectedUs: histogram(100) }));
  assert.equal(json.rate, 100);
  assert.equal(json.latencyUncorrectedMs?.p50, 0.5);
});

test('summarizeSamples: mean, population stdev, min, max, nearest-rank percentiles', () => {
  assert.deepEqual(summarizeSamples([4, 2, 8, 6]), { mean: 5, stdev: 2.24, min: 2, max: 8, p1: 2, p2_5: 2, p50: 4, p97_5: 8, samples: 4 });
  assert.deepEqual(summarizeSamples([7]), { mean: 7, stdev: 0, min: 7, max: 7, p1: 7, p2_5: 7, p50: 7, p97_5: 7, samples: 1 });
  assert.equal(summarizeSamples([]).samples, 0);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(summarizeSamples(hundred).p50, 50);
  assert.equal(summarizeSamples(hundred).p97_5, 98);
});

const exitCases: ReadonlyArray<readonly [name: string, argv: string[], overrides: Partial<RunResult>, status: 0 | 1]> = [
  ['all 2xx', [], {}, 0],
  ['a 4xx', [], { ok2xx: 99, fail4xx: 1 }, 1],
  ['a 5xx', [], { ok2xx: 99, fail5xx: 1 }, 1],
  ['a lost message', [], { ok2xx: 99, resets: 1 }, 1],
  ['an error without a lost message', [], { errors: 1 }, 1],
  ['a timeout', [], { ok2xx: 99, timeouts: 1 }, 1],
  ['nothing sent', [], { sent: 0, ok2xx: 0 }, 1],
  ['4xx expected', ['--expect-failures'], { ok2xx: 0, fail4xx: 100 }, 0],
  ['expected, but nothing replied', ['--expect-failures'], { sent: 0, ok2xx: 0, errors: 5 }, 1],
];
for (const [name, argv, overrides, status] of exitCases) {
  test(`exitStatus: ${name} -> ${status}`, () => assert.equal(exitStatus(options(...argv), result(overrides)), status));
}

test('header and report read like autocannon', () => {
  assert.equal(
    formatHeader(options('-d', '10', '-c', '10')),
    'Running 10s test @ smtp://127.0.0.1:2525\n10 connections, 2 KiB messages, 1 recipient, unlimited messages per connection\n\n',
  );
  assert.match(formatHeader(options('-a', '200', '--per-conn', '1', '--size', '10m', '--pipelining')), /^Running 200 messages test @ .*\n.*10 MiB messages, 1 recipient, 1 message per connection, pipelining\n/);
  const report = formatReport(options('-l'), result({ ok2xx: 97, fail4xx: 2, fail5xx: 1, errors: 1, errorCodes: { ECONNREFUSED: 1 } }));
  assert.match(report, /│ Stat +│ 2\.5% +│ 50% +│ 97\.5% +│ 99% +│ Avg +│ Stdev +│ Max +│/);
  assert.match(report, /│ Latency +│ 0\.03 ms │ 0\.5 ms +│/);
  assert.match(report, /│ Msg\/Sec +│ 10 /);
  assert.match(report, /│ Bytes\/Sec │ 21\.2 kB │/);
  assert.match(report, /# of samples: 10\n/);
  assert.match(report, /│ Percentile │ Latency \(ms\) │/);
  assert.match(report, /│ connect -> 220 │ 10 /);
  assert.match(report, /Replies: 2xx 97, 4xx 2, 5xx 1; errors 1, timeouts 0, resets 0\nErrors: ECONNREFUSED 1\n100 messages in 10\.01s, 212 kB sent\n$/);
});

test('formatBytes uses decimal units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1000), '1 kB');
  assert.equal(formatBytes(3_140_000), '3.14 MB');
});

test('renderTable draws boxes sized to the widest cell', () => {
  assert.equal(
    renderTable([['Stat', 'A'], ['x', 'long'], ['y', 'z']], { ruleBetweenRows: true }),
    ['┌──────┬──────┐', '│ Stat │ A    │', '├──────┼──────┤', '│ x    │ long │', '├──────┼──────┤', '│ y    │ z    │', '└──────┴──────┘', ''].join('\n'),
  );
});

test('formatProgress: bar, percent, elapsed, last second', () => {
  assert.equal(formatProgress(0.5, 4500, 1234, 10), 'running [=====     ] 50% 4.5s 1234 msg/s');
  assert.equal(formatProgress(1.7, 0, 0, 4), 'running [====] 100% 0.0s 0 msg/s');
  assert.equal(formatProgress(-1, 0, 0, 4), 'running [    ] 0% 0.0s 0 msg/s');
});
