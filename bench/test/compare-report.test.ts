import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYSTEM } from '../compare/names.js';
import { markdownTable, ms, renderReportMarkdown } from '../compare/report-md.js';
import { missingMeasurement } from '../compare/results.js';
import { evaluateTargets } from '../compare/targets.js';
import type { HeldLargeResult, InterleavedResult, Measurement, RunReport } from '../compare/types.js';

test('markdownTable: header, alignment row (text columns left), escaped cells', () => {
  const table = markdownTable(['system', 'msgs/s', 'note'], [['a|b', '12', 'two\nlines']]);
  assert.equal(table, ['| system | msgs/s | note |', '|---|---:|---|', '| a\\|b | 12 | two lines |'].join('\n'));
});

test('ms: two decimals below 10, one below 100, none above', () => {
  const cases: Array<[number | null, string]> = [
    [null, '-'],
    [0.256, '0.26'],
    [12.34, '12.3'],
    [1234.5, '1235'],
  ];
  for (const [value, text] of cases) assert.equal(ms(value), text);
});

const point = { connections: 50, size: '2k', sizeBytes: 2048, durationSeconds: 10 };
const smtpipe: Measurement = {
  system: SYSTEM.smtpipe('native'),
  point,
  status: 'ok',
  note: '3 4xx',
  msgsPerSecond: 812.4,
  bytesPerSecond: 812.4 * 2048,
  p50Ms: 4.2,
  p99Ms: 31.25,
  sent: 8127,
  ok2xx: 8124,
  fail4xx: 3,
  fail5xx: 0,
  errors: 0,
  windowSeconds: 10,
  usage: { peakRssMb: 151.2, peakPssMb: 120.4, cpuPct: 88.1, treeCpuPct: 140.6 },
};

function report(): RunReport {
  const measurements = [smtpipe, { ...smtpipe, system: SYSTEM.naive, msgsPerSecond: 300, note: null }, missingMeasurement(SYSTEM.haraka, point, 'skipped', 'npm install failed')];
  const results = { measurements, spawnLoops: [], memory: [], resources: null, heldLarge: null, interleaved: [] };
  return {
    startedAt: '2026-11-25T19:40:00.000Z',
    finishedAt: '2026-11-25T19:50:00.000Z',
    mode: 'default',
    host: { cpus: 2, cpuModel: 'AMD EPYC', kernel: '6.1', node: 'v20.20.2', memoryMb: 24000, loadAverage: 1.5 },
    ...results,
    targets: evaluateTargets(results),
    notes: ['fairness: greeting pause 0'],
  };
}

test('the report has one result row per measurement, figures rounded, failures spelt out', () => {
  const text = renderReportMarkdown(report(), '2026-11-25-1940.svg');
  assert.ok(text.startsWith('# smtpipe comparison, 2026-11-25T19:40:00.000Z\n'));
  assert.ok(text.includes('![msgs/s against connections](2026-11-25-1940.svg)'));
  assert.ok(text.includes('| smtpipe (native) | 50 | 2 KB | 812 | 1.6 | 4.20 | 31.3 | 151 | 120 | 88 | 141 | 8124/3/0/0 | 3 4xx |'));
  assert.ok(text.includes('| haraka (2 procs) | 50 | 2 KB | - | - | - | - | - | - | - | - | - | SKIPPED: npm install failed |'));
});

test('the report carries ratios, targets and notes', () => {
  const text = renderReportMarkdown(report(), null);
  assert.ok(!text.includes('!['));
  assert.match(text, /\| smtpipe \(native\) \| 50 \| 2 KB \| 2\.71 \| - \|/);
  assert.match(text, /```text\nPASS {2}c=50 2k: smtpipe \(native\) \/ naive \(smtp-server \+ spawn\) = 2\.71/);
  assert.match(text, /SKIP {2}c=50 2k: smtpipe \(native\) \/ haraka \(2 procs\) = -/);
  assert.match(text, /## Notes\n\n- fairness: greeting pause 0\n/);
  assert.ok(!text.includes('## Spawn loops'), 'no empty sections');
  assert.ok(!text.includes('## Memory'), 'no empty sections');
  assert.ok(!text.includes('## Resources'), 'no empty sections');
  assert.ok(!text.includes('## Held large'), 'no empty sections');
  assert.ok(!text.includes('## Interleaved'), 'no empty sections');
});

test('the issue 13 sections: held-large figures and every interleaved run in order', () => {
  const held: HeldLargeResult = {
    system: SYSTEM.smtpipe('native'),
    status: 'ok',
    note: null,
    messages: 200,
    sizeBytes: 10_485_760,
    wireBytes: 10_621_954,
    concurrency: 20,
    allSentAfterSeconds: 31.25,
    maxInFlight: 200,
    maxHeldPrograms: 20,
    baselineRssMb: 80.4,
    peakRssMb: 2290.2,
    hwmRssMb: 2297.6,
    sampleIntervalMs: 100,
    ok2xx: 200,
    failed: 0,
    byteExact: 200,
    corrupted: 0,
    seconds: 44.4,
  };
  const interleaved: InterleavedResult = {
    group: 'baseline',
    status: 'ok',
    note: null,
    point,
    systems: [SYSTEM.smtpipe('native'), SYSTEM.baseline],
    rounds: 1,
    measurements: [smtpipe, { ...smtpipe, system: SYSTEM.baseline, msgsPerSecond: 800, note: null }],
  };
  const text = renderReportMarkdown({ ...report(), heldLarge: held, interleaved: [interleaved] }, null);
  assert.ok(text.includes('| smtpipe (native) | 80 | 2298 | 2290 | 200 | 31.3 | 20 | 200/200 | 200/200 | 44.4 |  |'));
  assert.match(text, /baseline: c=50 2k, 10 s per run, 1 rounds in ABBA order\.\n\n\| system .*\n.*\n\| smtpipe \(native\) \| 812\.4 .*\n\| smtpipe@baseline \| 800\.0 /);});
