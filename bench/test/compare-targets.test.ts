import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOOP_NAME, SYSTEM } from '../compare/names.js';
import { computeRatios, evaluateTargets, formatTarget, sharedCpuBound, type RunResults } from '../compare/targets.js';
import type { LoopKind, Measurement, MemoryResult, SpawnLoopResult, Verdict } from '../compare/types.js';

const SIZES: Record<string, number> = { '2k': 2048, '100k': 102_400, '10m': 10_485_760 };

function m(system: string, connections: number, size: string, msgsPerSecond: number, p99Ms = 10, status: Measurement['status'] = 'ok'): Measurement {
  const sizeBytes = SIZES[size] ?? 0;
  return {
    system,
    point: { connections, size, sizeBytes, durationSeconds: 10 },
    status,
    note: null,
    msgsPerSecond,
    bytesPerSecond: msgsPerSecond * sizeBytes,
    p50Ms: p99Ms / 2,
    p99Ms,
    sent: msgsPerSecond * 10,
    ok2xx: msgsPerSecond * 10,
    fail4xx: 0,
    fail5xx: 0,
    errors: 0,
    windowSeconds: 10,
    usage: null,
  };
}

function loop(kind: LoopKind, concurrency: number, spawnsPerSecond: number, p99Ms = 10, stdinBytes = 2048): SpawnLoopResult {
  return { loop: kind, concurrency, stdinBytes, status: 'ok', note: null, spawns: spawnsPerSecond * 4, seconds: 4, spawnsPerSecond, bytesPerSecond: spawnsPerSecond * stdinBytes, p50Ms: p99Ms / 2, p99Ms };
}

function memory(system: string, ratio: number | null, status: MemoryResult['status'] = 'ok'): MemoryResult {
  return { system, status, note: status === 'ok' ? null : 'broken', heldMessages: 200, heldBytes: 200 * 1048576, baseline: m(system, 50, '2k', 100), loaded: m(system, 50, '2k', (ratio ?? 0) * 100), ratio };
}

const NATIVE = SYSTEM.smtpipe('native');

/** A run where every native target passes. */
function passingRun(): RunResults {
  return {
    measurements: [
      m(NATIVE, 50, '2k', 1000, 30),
      m(SYSTEM.naive, 50, '2k', 400),
      m(SYSTEM.haraka, 50, '2k', 500),
      m(SYSTEM.postfixE2e, 50, '2k', 450),
      m(NATIVE, 10, '10m', 6), // 60 MB/s
    ],
    spawnLoops: [loop('native', 50, 1200, 20), loop('c-posix_spawn', 50, 1500), loop('native', 10, 10, 100, 10_485_760)],
    memory: [memory(NATIVE, 0.9)],
    resources: null,
  };
}

function verdicts(results: RunResults): Map<string, string> {
  return new Map(evaluateTargets(results).map((t) => [t.name, t.verdict]));
}

test('every target of a good run passes; a run without the resources, issue 13 and issue 17 groups says so', () => {
  const targets = evaluateTargets(passingRun());
  assert.equal(targets.length, 13);
  assert.deepEqual(
    targets.filter((t) => t.verdict !== 'PASS').map((t) => `${t.verdict} ${t.name}: ${t.detail}`),
    [
      'SKIP resources: RSS growth: the resources group did not run',
      'SKIP held-large: peak RSS: the held-large group did not run',
      `SKIP large-ceiling: smtpipe / ${SYSTEM.ceiling}: the large-ceiling group did not run`,
      'SKIP baseline: smtpipe / smtpipe@baseline: the baseline group did not run (it needs --baseline DIR)',
      'SKIP cpu: c=50 2k main-thread us/msg, smtpipe / bare smtp-server sink at equal rate: the cpu group did not run',
      'SKIP cpu: c=50 2k msgs/s, Processes = N / 1 process: the cpu group did not run',
    ],
  );
});

const cases: Array<[string, (r: RunResults) => RunResults, string, Verdict]> = [
  ['naive too close', (r) => ({ ...r, measurements: r.measurements.map((x) => (x.system === SYSTEM.naive ? m(SYSTEM.naive, 50, '2k', 600) : x)) }), `c=50 2k: ${NATIVE} / ${SYSTEM.naive}`, 'FAIL'],
  ['haraka missing', (r) => ({ ...r, measurements: r.measurements.filter((x) => x.system !== SYSTEM.haraka) }), `c=50 2k: ${NATIVE} / ${SYSTEM.haraka}`, 'SKIP'],
  ['haraka skipped counts as missing', (r) => ({ ...r, measurements: r.measurements.map((x) => (x.system === SYSTEM.haraka ? m(SYSTEM.haraka, 50, '2k', 0, 0, 'skipped') : x)) }), `c=50 2k: ${NATIVE} / ${SYSTEM.haraka}`, 'SKIP'],
  ['postfix at exactly 2x passes', (r) => ({ ...r, measurements: r.measurements.map((x) => (x.system === SYSTEM.postfixE2e ? m(SYSTEM.postfixE2e, 50, '2k', 500) : x)) }), `c=50 2k: ${NATIVE} / ${SYSTEM.postfixE2e}`, 'PASS'],
  ['C loop far ahead', (r) => ({ ...r, spawnLoops: r.spawnLoops.map((l) => (l.loop === 'c-posix_spawn' ? loop('c-posix_spawn', 50, 2000) : l)) }), `c=50 2k: ${NATIVE} / ${LOOP_NAME['c-posix_spawn']}`, 'FAIL'],
  ['p99 more than twice the loop', (r) => ({ ...r, measurements: r.measurements.map((x) => (x.system === NATIVE && x.point.size === '2k' ? m(NATIVE, 50, '2k', 1000, 41) : x)) }), `c=50 2k: p99 ${NATIVE} / ${LOOP_NAME.native} p99`, 'FAIL'],
  ['bandwidth below half', (r) => ({ ...r, spawnLoops: r.spawnLoops.map((l) => (l.stdinBytes > 2048 ? loop('native', 10, 13, 100, 10_485_760) : l)) }), `c=10 10m: ${NATIVE} bandwidth / ${LOOP_NAME.native} stdin bandwidth`, 'FAIL'],
  ['memory ratio at 0.9 passes', (r) => ({ ...r, memory: [memory(NATIVE, 0.9)] }), `memory: ${NATIVE} small msgs/s with 200 x 1 MB in flight / without`, 'PASS'],
  ['memory ratio below 0.9 (issue 13)', (r) => ({ ...r, memory: [memory(NATIVE, 0.89)] }), `memory: ${NATIVE} small msgs/s with 200 x 1 MB in flight / without`, 'FAIL'],
  ['memory scenario failed', (r) => ({ ...r, memory: [memory(NATIVE, null, 'failed')] }), `memory: ${NATIVE} small msgs/s with 200 x 1 MB in flight / without`, 'SKIP'],
];

for (const [title, change, name, expected] of cases) {
  test(`target: ${title} -> ${expected}`, () => {
    assert.equal(verdicts(change(passingRun())).get(name), expected);
  });
}

test('no smtpipe result at all is one SKIP, never a pass', () => {
  const targets = evaluateTargets({ measurements: [m(SYSTEM.naive, 50, '2k', 10)], spawnLoops: [], memory: [], resources: null });
  assert.deepEqual(targets.map((t) => t.verdict), ['SKIP', 'SKIP', 'SKIP', 'SKIP', 'SKIP', 'SKIP', 'SKIP']);
});

test('a missing smtpipe point skips its targets and says so', () => {
  const run = passingRun();
  const targets = evaluateTargets({ ...run, measurements: run.measurements.filter((x) => !(x.system === NATIVE && x.point.size === '2k')) });
  const naive = targets.find((t) => t.name.endsWith(SYSTEM.naive));
  assert.equal(naive?.verdict, 'SKIP');
  assert.match(naive?.detail ?? '', /no smtpipe \(native\) result at c=50 2k/);
});

test('each smtpipe spawner gets its own targets, against its own loop', () => {
  const run = passingRun();
  const cp = SYSTEM.smtpipe('child_process');
  const targets = evaluateTargets({ ...run, measurements: [...run.measurements, m(cp, 50, '2k', 300, 90)], spawnLoops: [...run.spawnLoops, loop('child_process', 50, 350, 60)] });
  const p99 = targets.find((t) => t.name === `c=50 2k: p99 ${cp} / ${LOOP_NAME.child_process} p99`);
  assert.equal(p99?.verdict, 'PASS');
  assert.equal(p99?.value, 1.5);
  assert.equal(targets.find((t) => t.name === `c=50 2k: ${cp} / ${SYSTEM.naive}`)?.verdict, 'FAIL');
});

test('ratios: smtpipe divided by each other system at the same point, null without data', () => {
  const rows = computeRatios(passingRun());
  const row = rows.find((r) => r.system === NATIVE && r.connections === 50 && r.size === '2k');
  assert.ok(row);
  assert.equal(row.ratios.get(SYSTEM.naive), 2.5);
  assert.equal(row.ratios.get(SYSTEM.haraka), 2);
  assert.equal(row.ratios.get('spawn loop (same spawner)'), 1000 / 1200);
  assert.equal(row.ratios.get(LOOP_NAME['c-posix_spawn']), 1000 / 1500);
  assert.equal(row.ratios.get(SYSTEM.ceiling), null);
  const large = rows.find((r) => r.size === '10m');
  assert.equal(large?.ratios.get('spawn loop (same spawner)'), 6 / 10);
});

test('formatTarget prints verdict, name, value and goal on one line', () => {
  assert.equal(
    formatTarget({ verdict: 'FAIL', name: 'c=50 2k: a / b', value: 1.234, goal: '>= 1.8x', detail: '12 vs 10 msgs/s' }),
    'FAIL  c=50 2k: a / b = 1.23 (>= 1.8x; 12 vs 10 msgs/s)',
  );
  assert.equal(formatTarget({ verdict: 'SKIP', name: 'x', value: null, goal: '>= 2x', detail: 'no data' }), 'SKIP  x = - (>= 2x; no data)');
});

test('the C-loop and bandwidth targets say the bound that the ceiling and the loop set together', () => {
  assert.equal(sharedCpuBound(2000, 1500), 1 / (1 / 2000 + 1 / 1500));
  const run = passingRun();
  const withCeiling: RunResults = { ...run, measurements: [...run.measurements, m(SYSTEM.ceiling, 50, '2k', 2000), m(SYSTEM.ceiling, 10, '10m', 20)] };
  const targets = evaluateTargets(withCeiling);
  const cLoop = targets.find((t) => t.name === `c=50 2k: ${NATIVE} / ${LOOP_NAME['c-posix_spawn']}`);
  // bound = 1 / (1/2000 + 1/1500) = 857.1 msgs/s = 0.57x the loop; 1000 msgs/s is 117 % of it
  assert.match(cLoop?.detail ?? '', /front end \+ programs on these CPUs: at most 0\.57x \(smtpipe at 117% of it\)$/);
  const bandwidth = targets.find((t) => t.name.startsWith('c=10 10m:'));
  // ceiling 20 x 10 MB/s, loop 10 x 10 MB/s: bound 6.67 msgs/s worth = 0.67x; smtpipe's 6 is 90 %
  assert.match(bandwidth?.detail ?? '', /at most 0\.67x \(smtpipe at 90% of it\)$/);
  // Without a ceiling result the detail has no bound.
  assert.doesNotMatch(evaluateTargets(run).find((t) => t.name === cLoop?.name)?.detail ?? '', /front end/);
});

test('the C-loop and bandwidth targets say how near the naive design on the native spawner gets', () => {
  const run = passingRun();
  const withReference: RunResults = {
    ...run,
    // The reference runs at the target points only; smtpipe also at c=1.
    measurements: [...run.measurements, m(NATIVE, 1, '2k', 100), m(SYSTEM.naiveNative, 50, '2k', 750), m(SYSTEM.naiveNative, 10, '10m', 8)],
  };
  const targets = evaluateTargets(withReference);
  const cLoop = targets.find((t) => t.name === `c=50 2k: ${NATIVE} / ${LOOP_NAME['c-posix_spawn']}`);
  // 750 / 1500 spawns/s = 0.50x; smtpipe's 1000 msgs/s is 133 % of it
  assert.match(cLoop?.detail ?? '', /; smtp-server \+ native spawn, no pool \(naive-native\): 0\.50x \(smtpipe at 133% of it\)$/);
  const bandwidth = targets.find((t) => t.name.startsWith('c=10 10m:'));
  // 8 of the loop's 10 messages' worth = 0.80x; smtpipe's 6 is 75 %
  assert.match(bandwidth?.detail ?? '', /naive-native\): 0\.80x \(smtpipe at 75% of it\)$/);
  assert.doesNotMatch(evaluateTargets(run).find((t) => t.name === cLoop?.name)?.detail ?? '', /naive-native/);
  // The reference is a column of the ratio table too (null where it did not run).
  const row = computeRatios(withReference).find((r) => r.system === NATIVE && r.connections === 50 && r.size === '2k');
  assert.equal(row?.ratios.get(SYSTEM.naiveNative), 1000 / 750);
  const other = computeRatios(withReference).find((r) => r.system === NATIVE && r.connections === 1);
  assert.ok(other);
  assert.equal(other.ratios.get(SYSTEM.naiveNative), null);
});

test('the memory target is judged in a run of the memory group alone (--only memory)', () => {
  const targets = evaluateTargets({ measurements: [], spawnLoops: [], memory: [memory(NATIVE, 0.73)], resources: null });
  const line = targets.find((t) => t.name === `memory: ${NATIVE} small msgs/s with 200 x 1 MB in flight / without`);
  assert.equal(line?.verdict, 'FAIL');
  assert.equal(line?.goal, '>= 0.9x');
});
