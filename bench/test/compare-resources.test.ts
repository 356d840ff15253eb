import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPlan, growthPlan, parseRunArgs, wants } from '../compare/plan.js';
import { resourcesSection } from '../compare/report-md.js';
import {
  checkpoints,
  fitGrowth,
  growthPasses,
  leastSquares,
  median,
  parseProcStatus,
  peakPerInFlight,
  perSessionKb,
  rssAt,
  secondsLabel,
} from '../compare/resources.js';
import { renderSmtpipeConfig } from '../compare/servers/smtpipe-config.js';
import { formatTarget, growthTarget } from '../compare/targets.js';
import type { GrowthResult, ResourcesResult, RssSample } from '../compare/types.js';
import { parseConfigText } from '../../src/config/load.js';
import { argvWords } from '../../test/helpers/transport.js';

const close = (actual: number | null | undefined, expected: number, epsilon = 1e-9) =>
  assert.ok(actual != null && Math.abs(actual - expected) <= epsilon, `${actual} is not ${expected} (+-${epsilon})`);

test('/proc/<pid>/status: VmRSS and VmHWM in bytes; null when either is missing', () => {
  const status = ['Name:\tnode', 'VmPeak:\t 1234567 kB', 'VmHWM:\t   98304 kB', 'VmRSS:\t   81920 kB', 'RssAnon:\t   40000 kB', 'Threads:\t11', ''].join('\n');
  assert.deepEqual(parseProcStatus(status), { rssBytes: 81920 * 1024, hwmBytes: 98304 * 1024 });
  // A kernel thread, or a zombie, has no Vm lines.
  assert.equal(parseProcStatus('Name:\tkthreadd\nState:\tS (sleeping)\n'), null);
  assert.equal(parseProcStatus('VmRSS:\t 10 kB\n'), null);
});

test('median: middle value, mean of the two middle ones, null when empty; input untouched', () => {
  const values = [5, 1, 3];
  assert.equal(median(values), 3);
  assert.deepEqual(values, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('least squares: an exact line, a noisy one, and degenerate inputs', () => {
  const line = leastSquares([0, 1, 2, 3].map((x) => ({ x, y: 10 + 2 * x })));
  close(line?.slope, 2);
  close(line?.intercept, 10);
  // By hand: mean x 1.5, mean y 2.5, Sxx 5, Sxy 3 -> slope 0.6, intercept 2.5 - 0.6 x 1.5.
  const noisy = leastSquares([{ x: 0, y: 2 }, { x: 1, y: 1 }, { x: 2, y: 4 }, { x: 3, y: 3 }]);
  close(noisy?.slope, 0.6);
  close(noisy?.intercept, 1.6);
  assert.equal(leastSquares([{ x: 1, y: 1 }]), null);
  assert.equal(leastSquares([{ x: 1, y: 1 }, { x: 1, y: 5 }]), null, 'no spread in x');
});

/** One sample per second for 0..seconds, RSS = f(t). */
const series = (seconds: number, f: (t: number) => number): RssSample[] => Array.from({ length: seconds + 1 }, (_, t) => ({ t, rssMb: f(t) }));

test('growth fit: MB per minute and relative rise over the window only', () => {
  // Warm-up from 50 to 100 MB in the first 10 s, then 2 MB per minute: only the window counts.
  const samples = series(70, (t) => (t < 10 ? 50 + 5 * t : 100 + (2 * (t - 10)) / 60));
  const fit = fitGrowth(samples, 10, 60);
  close(fit?.slopeMbPerMin, 2, 1e-9);
  // 2 MB/min over 50 s = 1.667 MB on 100 MB.
  close(fit?.growthPct, (100 * (2 * 50) / 60) / 100, 1e-9);
  assert.equal(fit?.samples, 51, 'samples 10..60; those after the run (61..70) are left out');

  // Flat with GC sawtooth: the slope is near zero.
  const flat = fitGrowth(series(60, (t) => 120 + (t % 2 === 0 ? 3 : -3)), 10, 60);
  assert.ok(flat !== null && Math.abs(flat.slopeMbPerMin) < 0.5, String(flat?.slopeMbPerMin));

  // Timer lateness: a sample at 10.2 s is still in a window that starts at 10 s.
  assert.equal(fitGrowth([{ t: 10.2, rssMb: 1 }, { t: 30, rssMb: 1 }, { t: 60.1, rssMb: 1 }], 10, 60)?.samples, 3);
  assert.equal(fitGrowth(series(60, () => 1).slice(0, 11), 10, 60), null, 'one sample in the window');
});

test('checkpoints: the nearest sample within the tolerance, else null', () => {
  const samples: RssSample[] = [{ t: 0.01, rssMb: 90 }, { t: 9.8, rssMb: 100 }, { t: 10.6, rssMb: 101 }, { t: 30.02, rssMb: 110 }];
  assert.equal(rssAt(samples, 10, 1), 100);
  assert.equal(rssAt(samples, 60, 1), null);
  assert.deepEqual(checkpoints(samples, [10, 30, 60], 1), [
    { seconds: 10, rssMb: 100 },
    { seconds: 30, rssMb: 110 },
    { seconds: 60, rssMb: null },
  ]);
});

test('growth verdict: a small slope or a small relative rise passes', () => {
  assert.equal(growthPasses(0.99, 50), true);
  assert.equal(growthPasses(3, 4.9), true);
  assert.equal(growthPasses(3, 5), false);
  assert.equal(growthPasses(1, null), false);
  assert.equal(growthPasses(2, Number.NaN), false);
  assert.equal(growthPasses(-4, 80), true, 'shrinking is not growth');
});

test('per-session KB, peak over bytes in flight, seconds labels', () => {
  close(perSessionKb(80, 96, 1000), 16.384);
  assert.equal(perSessionKb(null, 96, 1000), null);
  assert.equal(perSessionKb(80, 96, 0), null);
  close(peakPerInFlight(3000, 200, 10_485_760), 1.5);
  assert.equal(peakPerInFlight(null, 200, 10_485_760), null);
  assert.equal(secondsLabel(10), '10 s');
  assert.equal(secondsLabel(6 / 6), '1 s');
  assert.equal(secondsLabel(5 / 6), '0.8 s');
});

test('plan: resources is a scenario of its own, on by default; growth windows follow --seconds', () => {
  const parsed = parseRunArgs(['--only', 'resources']);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind === 'run') {
    assert.equal(wants(parsed.options, 'resources'), true);
    assert.equal(wants(parsed.options, 'smtpipe'), false);
  }
  assert.equal(wants({ only: null }, 'resources'), true);

  const { resources } = buildPlan({ full: false, seconds: null });
  assert.equal(resources.idleSessions, 1000);
  assert.ok(resources.listenerSessions > resources.idleSessions);
  assert.deepEqual([resources.large.messages, resources.large.size, resources.large.sampleIntervalMs], [200, '10m', 100]);
  assert.ok(resources.large.maxMessageBytes > resources.large.sizeBytes);
  // 20 s of warm-up, then the 60 s the target judges.
  assert.deepEqual(resources.growth.point, { connections: 200, size: '2k', sizeBytes: 2048, durationSeconds: 80 });
  assert.equal(resources.growth.fitFromSeconds, 20);
  assert.deepEqual(resources.growth.checkpointSeconds, [20, 50, 80]);
  assert.equal(resources.growth.sampleIntervalMs, 1000);
  // The group's own time: ~10 s of idle sessions, the 2 GB transfer (~30-45 s here), the growth run.
  assert.ok(resources.growth.point.durationSeconds + 15 + 45 <= 150);

  assert.deepEqual(buildPlan({ full: true, seconds: 8 }).resources.growth.checkpointSeconds, [2, 5, 8]);
  assert.equal(growthPlan({ connections: 200, size: '2k', sizeBytes: 2048, durationSeconds: 120 }).fitFromSeconds, 30);
});

test('the resources configs load with the real parser: 2000 sessions; 20 MB messages and 200 held programs', () => {
  const host = { hostname: 'bench', parallelism: 2 };
  const idle = parseConfigText(
    renderSmtpipeConfig({ port: 2626, spawner: 'native', domain: 'bench.test', program: '/bin/cat', slow: null, listenerSessions: 2000 }),
    'idle.conf',
    host,
  );
  assert.ok(idle.ok, JSON.stringify(!idle.ok && idle.errors));
  assert.equal(idle.config.listeners[0]?.maxSessions, 2000);
  assert.equal(idle.config.pool.spawner, 'native');

  const large = parseConfigText(
    renderSmtpipeConfig({
      port: 2626,
      spawner: 'native',
      domain: 'bench.test',
      program: '/bin/cat',
      slow: { domain: 'slow.bench.test', program: '/tmp/x/slow-reader.sh /tmp/x/release.fifo', concurrency: 200 },
      maxMessageBytes: 20_000_000,
    }),
    'large.conf',
    host,
  );
  assert.ok(large.ok, JSON.stringify(!large.ok && large.errors));
  assert.equal(large.config.listeners[0]?.maxMessageBytes, 20_000_000);
  assert.equal(large.config.listeners[0]?.maxSessions, 500, 'Listener_Sessions left at its default');
  assert.ok(large.config.pool.tasksPerThread >= 200);
  assert.deepEqual(large.config.transports[1] && argvWords(large.config.transports[1].program), ['/tmp/x/slow-reader.sh', '/tmp/x/release.fifo']);
  assert.equal(large.config.transports[1]?.concurrency, 200);
});

function growth(partial: Partial<GrowthResult> = {}): GrowthResult {
  return {
    status: 'ok',
    note: null,
    connections: 200,
    size: '2k',
    durationSeconds: 60,
    fitFromSeconds: 10,
    samples: [],
    checkpoints: [
      { seconds: 10, rssMb: 120.4 },
      { seconds: 30, rssMb: 121.3 },
      { seconds: 60, rssMb: 121.9 },
    ],
    slopeMbPerMin: 0.42,
    growthPct: 0.3,
    msgsPerSecond: 512.3,
    ok2xx: 30_700,
    errors: 0,
    ...partial,
  };
}

function resources(g: GrowthResult = growth()): ResourcesResult {
  return {
    system: 'smtpipe (native)',
    idle: {
      status: 'ok',
      note: null,
      sessionsWanted: 1000,
      sessionsOpen: 1000,
      baselineRssMb: 77.31,
      baselinePssMb: 54.5,
      withRssMb: 93.4,
      withPssMb: 70.21,
      peakRssMb: 95.8,
      afterCloseRssMb: 93.3,
      perSessionKb: 16.48,
    },
    large: {
      status: 'ok',
      note: null,
      messages: 200,
      sizeBytes: 10_485_760,
      sampleIntervalMs: 100,
      allHeldAfterSeconds: 30.14,
      baselineRssMb: 78,
      peakRssMb: 3467.2,
      hwmRssMb: 3470.9,
      peakPssMb: 3400.1,
      peakPerInFlight: 1.7336,
      maxHeldPrograms: 200,
      ok2xx: 200,
      fail4xx: 0,
      fail5xx: 0,
      errors: 0,
      seconds: 31.7,
    },
    growth: g,
  };
}

test('growth target: PASS/FAIL on slope or rise, SKIP when the run failed or the group did not run', () => {
  const pass = growthTarget(resources());
  assert.equal(
    formatTarget(pass),
    'PASS  resources: smtpipe (native) RSS growth at c=200 2k, 10 s to 60 s, MB/min = 0.42 (< 1 MB/min or < 5%; growth 0.3%, RSS 120 MB at 10 s -> 122 MB at 60 s)',
  );
  assert.equal(growthTarget(resources(growth({ slopeMbPerMin: 4, growthPct: 3.5 }))).verdict, 'PASS');
  assert.equal(growthTarget(resources(growth({ slopeMbPerMin: 12, growthPct: 9 }))).verdict, 'FAIL');
  const failed = growthTarget(resources(growth({ status: 'failed', note: 'too few samples (2) to fit', slopeMbPerMin: null })));
  assert.equal(failed.verdict, 'SKIP');
  assert.match(failed.detail, /growth run failed: too few samples/);
  assert.equal(growthTarget(null).verdict, 'SKIP');
});

test('the resources section: one row per scenario, figures rounded, failures spelt out', () => {
  const text = resourcesSection(resources()).join('\n');
  assert.ok(text.startsWith("## Resources: the smtpipe process's memory\n"));
  assert.ok(text.includes('| smtpipe (native) | 1000/1000 | 77.3 | 93.4 | 16.5 | 54.5 | 70.2 | 95.8 | 93.3 |  |'), text);
  assert.ok(text.includes('| smtpipe (native) | 200 x 10 MB = 2000 MB | 78 | 3467 | 1.73 | 3471 | 3400 | 200 | 30.1 | 200/0/0/0 | 31.7 |  |'), text);
  assert.ok(text.includes('| system | c | size | msgs/s | RSS 10 s MB | RSS 30 s MB | RSS 60 s MB | slope MB/min | growth % | replies 2xx/errors | note |'), text);
  assert.ok(text.includes('| smtpipe (native) | 200 | 2 KB | 512 | 120.4 | 121.3 | 121.9 | 0.42 | 0.3 | 30700/0 |  |'), text);
  const broken = resourcesSection({ ...resources(), growth: growth({ status: 'failed', note: 'server exited', slopeMbPerMin: null, growthPct: null, checkpoints: [{ seconds: 10, rssMb: null }] }) }).join('\n');
  assert.ok(broken.includes('| - | - | - | 30700/0 | FAILED: server exited |'), broken);
});
