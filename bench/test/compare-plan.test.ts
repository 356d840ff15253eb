import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcStat, treeOf, type ProcStat } from '../compare/measure.js';
import { buildPlan, parseRunArgs } from '../compare/plan.js';
import { endToEndMeasurement, measurementFromGenerator } from '../compare/results.js';
import { countDeliveries, parseSetupOutput } from '../compare/scenarios/postfix.js';
import { renderSmtpipeConfig } from '../compare/servers/smtpipe-config.js';
import type { GeneratorResult } from '../compare/generator.js';
import type { LoadPoint } from '../compare/types.js';
import { parseConfigText } from '../../src/config/load.js';
import { argvWords } from '../../test/helpers/transport.js';

test('run flags: defaults, --full, --only, --seconds, and errors', () => {
  const none = parseRunArgs([]);
  assert.equal(none.kind, 'run');
  if (none.kind === 'run') assert.deepEqual(none.options, { full: false, outDir: 'bench/results', only: null, seconds: null, keep: false, baseline: null, processes: null });
  const some = parseRunArgs(['--full', '--only', 'smtpipe, postfix', '--seconds', '2']);
  assert.equal(some.kind, 'run');
  if (some.kind === 'run') {
    assert.equal(some.options.full, true);
    assert.deepEqual([...(some.options.only ?? [])], ['smtpipe', 'postfix']);
    assert.equal(some.options.seconds, 2);
  }
  assert.equal(parseRunArgs(['--only', 'sendmail']).kind, 'error');
  assert.equal(parseRunArgs(['--seconds', '0']).kind, 'error');
  assert.equal(parseRunArgs(['--fast']).kind, 'error');
  assert.equal(parseRunArgs(['-h']).kind, 'help');
});

test('issue 13 flags and groups: --baseline DIR, --only held-large,large-ceiling,baseline', () => {
  const run = parseRunArgs(['--only', 'held-large,large-ceiling,baseline', '--baseline', '../wt-baseline']);
  assert.equal(run.kind, 'run');
  if (run.kind === 'run') {
    assert.equal(run.options.baseline, '../wt-baseline');
    assert.deepEqual([...(run.options.only ?? [])], ['held-large', 'large-ceiling', 'baseline']);
  }
  assert.equal(parseRunArgs(['--baseline', '']).kind, 'error');
  const plan = buildPlan({ full: false, seconds: null });
  assert.deepEqual([plan.heldLarge.messages, plan.heldLarge.sizeBytes, plan.heldLarge.concurrency], [200, 10_485_760, 20]);
  assert.deepEqual([plan.largeCeiling.point.connections, plan.largeCeiling.point.size], [10, '10m']);
  assert.deepEqual([plan.baseline.point.connections, plan.baseline.point.size], [50, '2k']);
  // Each group stays under 2 minutes: rounds x 2 systems x a run, plus the warm-ups.
  for (const g of [plan.largeCeiling, plan.baseline]) assert.ok(g.rounds * 2 * (g.point.durationSeconds + 1) + 4 <= 120);
  assert.ok(plan.baseline.rounds % 2 === 1, 'an odd number of pairs has a middle one');
});

test('the held-large config loads with the real parser: limits raised, received_header off', () => {
  const text = renderSmtpipeConfig({
    port: 2626,
    spawner: 'native',
    domain: 'bench.test',
    program: '/bin/cat',
    slow: { domain: 'held.bench.test', program: '/tmp/held-reader.sh /tmp/f /tmp/o', concurrency: 20, receivedHeader: false },
    maxMessageBytes: 20_000_000,
    listenerSessions: 400,
    maxSessionsPerClient: 0,
    poolMaxQueue: 400,
  });
  const parsed = parseConfigText(text, 'bench.conf', { hostname: 'bench', parallelism: 2 });
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  assert.equal(parsed.config.pool.maxQueue, 400);
  assert.deepEqual([parsed.config.listeners[0]?.maxSessions, parsed.config.listeners[0]?.maxSessionsPerClient], [400, 0]);
  assert.deepEqual([parsed.config.transports[1]?.concurrency, parsed.config.transports[1]?.receivedHeader], [20, false]);
  assert.equal(parsed.config.transports[0]?.receivedHeader, true);
});

test('default plan: every connection count at 2k, c=50 at 100k, c=10 at 10m, within the time budget', () => {
  const plan = buildPlan({ full: false, seconds: null });
  assert.deepEqual(plan.points.map((p) => `${p.connections}@${p.size}`), ['1@2k', '10@2k', '50@2k', '200@2k', '50@100k', '10@10m']);
  assert.deepEqual(plan.bandwidthLoops.map((p) => `${p.connections}@${p.size}`), ['10@10m']);
  assert.deepEqual(plan.targetPoints.map((p) => `${p.connections}@${p.size}`), ['50@2k', '10@10m']);
  // 7 SMTP rows (ceiling, naive, smtpipe x2, smtp-sink, postfix, haraka) and the reference
  // system at the target points, ~4 s of start, warm-up and pauses per system and 2 s per
  // point; loops and memory on top (about 12 minutes in all, as USAGE says, with the
  // resources group and the installs of Postfix and Haraka).
  const rowSeconds = (points: readonly LoadPoint[]) => points.reduce((sum, p) => sum + p.durationSeconds + 2, 4);
  const smtpSeconds = 7 * rowSeconds(plan.points) + rowSeconds(plan.targetPoints);
  const loopSeconds = 2 * plan.spawnLoops.reduce((sum, p) => sum + p.durationSeconds + 1, 0) + plan.spawnLoops.reduce((s, p) => s + p.durationSeconds, 0);
  const memorySeconds = 2 * (3 * plan.memory.point.durationSeconds + 15);
  assert.ok(smtpSeconds + loopSeconds + memorySeconds <= 630, `${smtpSeconds + loopSeconds + memorySeconds} s`);
});

test('full plan: the whole matrix; --seconds overrides every duration', () => {
  const plan = buildPlan({ full: true, seconds: 3 });
  assert.equal(plan.points.length, 12);
  assert.equal(plan.bandwidthLoops.length, 4);
  assert.ok([...plan.points, ...plan.spawnLoops, plan.memory.point].every((p) => p.durationSeconds === 3));
});

const gen = (ok2xx: number, extra: Partial<GeneratorResult> = {}): GeneratorResult => ({
  durationSeconds: 10,
  messages: { sent: ok2xx + 5, ok2xx, fail4xx: 5, fail5xx: 0 },
  errors: 0,
  timeouts: 0,
  resets: 1,
  latencyMs: { p50: 2, p99: 9 },
  startedAt: '2026-11-25T19:40:00.000Z',
  finishedAt: '2026-11-25T19:40:10.000Z',
  ...extra,
});
const point = { connections: 10, size: '100k', sizeBytes: 102_400, durationSeconds: 10 };

test('a generator result becomes a measurement: 2xx per second, problems in the note', () => {
  const m = measurementFromGenerator('x', point, gen(1000), null);
  assert.equal(m.status, 'ok');
  assert.equal(m.msgsPerSecond, 100);
  assert.equal(m.bytesPerSecond, 100 * 102_400);
  assert.equal(m.note, '5 4xx, 1 resets');
  assert.equal(m.errors, 1);
  const none = measurementFromGenerator('x', point, gen(0), null);
  assert.equal(none.status, 'failed');
  assert.equal(none.note, 'no 2xx reply (5 4xx, 1 resets)');
  assert.equal(none.p99Ms, null);
});

test('end to end: deliveries over the window until the queue drained', () => {
  const queued = measurementFromGenerator('postfix (queued)', point, gen(1000), null);
  const e2e = endToEndMeasurement('postfix (e2e)', queued, 1000, 12.5, true, null, null);
  assert.equal(e2e.msgsPerSecond, 80);
  assert.equal(e2e.status, 'ok');
  assert.equal(e2e.note, '1000 delivered in 12.5 s');
  assert.equal(endToEndMeasurement('e', queued, 400, 120, false, null, null).status, 'failed');
});

test('/proc/<pid>/stat: fields after a comm holding spaces and parentheses', () => {
  const stat = parseProcStat('4242 (smtp (x) d) S 4200 4242 4242 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 98765 1000000 2560 18446744073709551615');
  assert.deepEqual(stat, { pid: 4242, ppid: 4200, comm: 'smtp (x) d', ownTicks: 200, reapedTicks: 10, rssPages: 2560, startTicks: 98765 });
  assert.equal(parseProcStat('garbage'), null);
});

test('treeOf: the root and all its descendants, nothing else', () => {
  const p = (pid: number, ppid: number): ProcStat => ({ pid, ppid, comm: 'x', ownTicks: 0, reapedTicks: 0, rssPages: 0, startTicks: 0 });
  const table = new Map([p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(13, 10), p(20, 1)].map((s) => [s.pid, s]));
  assert.deepEqual(treeOf(table, 10).map((s) => s.pid).sort(), [10, 11, 12, 13]);
  assert.deepEqual(treeOf(table, 99), []);
});

test('postfix log: pipe(8) deliveries counted by status, other lines ignored', () => {
  const lines = [
    'Nov 25 19:37:21 bench postfix/pipe[1]: 2D8: to=<r@bench.test>, relay=benchpipe, delay=0.3, dsn=2.0.0, status=sent (delivered via benchpipe service)',
    'Nov 25 19:37:21 bench postfix/pipe[2]: 2D9: to=<r@bench.test>, relay=benchpipe, dsn=5.3.0, status=bounced (Command died with status 1)',
    'Nov 25 19:37:21 bench postfix/smtp[3]: 2DA: to=<bench@localhost>, relay=none, dsn=5.4.4, status=bounced (Host not found)',
    'Nov 25 19:37:21 bench postfix/pipe[1]: 2DB: to=<r@bench.test>, relay=benchpipe, dsn=4.3.0, status=deferred (temporary failure)',
    'Nov 25 19:37:21 bench postfix/qmgr[4]: 2D8: removed',
  ];
  assert.deepEqual(countDeliveries(lines), { sent: 1, bounced: 1, deferred: 1 });
  assert.deepEqual(
    [...parseSetupOutput('config_directory=/t/conf\nnoise\nmaster_pid=123\n')],
    [['config_directory', '/t/conf'], ['master_pid', '123']],
  );
});

test('the generated smtpipe config loads with the real parser, as written', () => {
  const host = { hostname: 'bench', parallelism: 2 };
  const plain = parseConfigText(renderSmtpipeConfig({ port: 2626, spawner: null, domain: 'bench.test', program: '/bin/cat', slow: null }), 'bench.conf', host);
  assert.ok(plain.ok, JSON.stringify(!plain.ok && plain.errors));
  assert.equal(plain.config.listeners[0]?.port, 2626);
  assert.equal(plain.config.listeners[0]?.maxMessageBytes, 52_428_800);
  assert.deepEqual(plain.config.transports.map((t) => [t.name, t.domains, t.concurrency]), [['bench', ['bench.test'], 16]]);

  const memory = parseConfigText(
    renderSmtpipeConfig({ port: 2626, spawner: 'native', domain: 'bench.test', program: '/bin/cat', slow: { domain: 'hold.bench.test', program: '/bin/sleep 120', concurrency: 200 } }),
    'bench.conf',
    host,
  );
  assert.ok(memory.ok, JSON.stringify(!memory.ok && memory.errors));
  assert.equal(memory.config.pool.spawner, 'native');
  assert.equal(memory.config.pool.tasksPerThread, 264);
  assert.deepEqual(memory.config.transports[1] && argvWords(memory.config.transports[1].program), ['/bin/sleep', '120']);
  assert.equal(memory.config.transports[1]?.concurrency, 200);
});
