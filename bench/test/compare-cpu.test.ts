import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkModel, projectionTable, projectThroughput, totalUs, type MessageCosts } from '../compare/cost-model.js';
import { cpuPerMessage, mainBusyPct, splitTicks } from '../compare/cpu-costs.js';
import { cpuModel, cpuTargets, equalRateFor, mainVsSink, mediansOf } from '../compare/cpu-targets.js';
import { parseRunArgs } from '../compare/plan.js';
import { cpuSection } from '../compare/report-cpu-md.js';
import type { ProcessTicks } from '../compare/thread-cpu.js';
import type { CpuResult, CpuRole, CpuServerRun } from '../compare/types.js';

const COSTS: MessageCosts = { mainUs: 400, workerUs: 300, programUs: 1300, primaryUs: 0 };

test('cost model: min(event loops, cores), and which bound it', () => {
  const table: Array<[number, number, number, 'event loops' | 'cores']> = [
    // cores, processes, msgs/s, bound; total 2000 us/msg, main 400 us
    [4, 1, 2000, 'cores'], // 4e6/2000 = 2000 < 2500
    [16, 1, 2500, 'event loops'], // 1e6/400
    [16, 16, 8000, 'cores'],
    [64, 64, 32_000, 'cores'],
    [64, 4, 10_000, 'event loops'],
  ];
  for (const [cores, processes, want, bound] of table) {
    const p = projectThroughput(COSTS, { cores, otherUs: 0 }, processes);
    assert.equal(Math.round(p.msgsPerSecond), want, `${cores} cores, ${processes} processes`);
    assert.equal(p.bound, bound);
  }
  assert.equal(totalUs(COSTS), 2000);
  // The generator's CPU shares the cores here: 2 cores, 500 us of it per message.
  assert.equal(Math.round(projectThroughput(COSTS, { cores: 2, otherUs: 500 }, 1).msgsPerSecond), 800);
  assert.throws(() => projectThroughput({ ...COSTS, mainUs: 0 }, { cores: 4, otherUs: 0 }, 1), /bug/);
});

test('cost model: the table has one process and one per core at 4, 16 and 64 cores; the check is measured / predicted', () => {
  const rows = projectionTable(COSTS);
  assert.deepEqual(rows.map((r) => [r.cores, Math.round(r.single.msgsPerSecond), Math.round(r.perCore.msgsPerSecond)]), [
    [4, 2000, 2000],
    [16, 2500, 8000],
    [64, 2500, 32_000],
  ]);
  const check = checkModel(COSTS, { cores: 2, otherUs: 0 }, 1, 500);
  assert.equal(check.predicted, 1000);
  assert.equal(check.ratio, 0.5);
});

function proc(pid: number, main: number, workers: number[], others: number[], reaped: number, exited = 0): ProcessTicks {
  const tasks = [
    { tid: pid, comm: 'smtpipe', ticks: main },
    ...workers.map((ticks, i) => ({ tid: pid + 10 + i, comm: 'smtpipe', ticks })),
    ...others.map((ticks, i) => ({ tid: pid + 100 + i, comm: 'node', ticks })),
  ];
  const own = tasks.reduce((s, t) => s + t.ticks, 0) + exited;
  return { pid, ownTicks: own, reapedTicks: reaped, tasks };
}

test('cpu costs: main, workers (named like smtpipe), other threads (the rest, exited ones too) and programs, per message', () => {
  const before = proc(100, 10, [5, 5], [1, 1], 50);
  const after = proc(100, 110, [55, 55], [11, 1], 450, 8);
  const c = cpuPerMessage({ before: [before], after: [after], primaryBefore: null, primaryAfter: null, messages: 1000, clockTicksPerSecond: 100, splitWorkers: true });
  // 100 ticks = 1 s over 1000 messages = 1000 us/msg.
  assert.deepEqual(c, { mainUs: 1000, workerUs: 1000, otherThreadsUs: 180, programUs: 4000, primaryUs: 0, processes: 1 });
  // Without a worker name (the bare sink keeps "node" everywhere), every non-main thread is "other".
  assert.deepEqual(splitTicks(after, false), { main: 110, workers: 0, other: 110 + 12 + 8, reaped: 450, own: 240 });
  // Nor when the main thread kept Node's name: nothing tells the workers apart.
  const unnamed = { ...after, tasks: after.tasks.map((task) => ({ ...task, comm: 'node' })) };
  assert.equal(splitTicks(unnamed, true).workers, 0);
});

test('cpu costs: front ends are summed, a primary is separate, a front end that appeared counts from zero', () => {
  const c = cpuPerMessage({
    before: [proc(200, 0, [0], [0], 0)],
    after: [proc(200, 50, [20], [0], 100), proc(300, 50, [20], [0], 100)],
    primaryBefore: proc(100, 0, [], [0], 0),
    primaryAfter: proc(100, 10, [], [0], 0),
    messages: 100,
    clockTicksPerSecond: 100,
    splitWorkers: true,
  });
  assert.deepEqual(c, { mainUs: 10_000, workerUs: 4000, otherThreadsUs: 0, programUs: 20_000, primaryUs: 1000, processes: 2 });
  assert.throws(() => cpuPerMessage({ before: [], after: [], primaryBefore: null, primaryAfter: null, messages: 0, clockTicksPerSecond: 100, splitWorkers: false }), /bug/);
});

test('main busy: each front end\'s main thread over the window, % of one core', () => {
  const before = [proc(200, 100, [], [], 0)];
  const after = [proc(200, 150, [], [], 0), proc(300, 25, [], [], 0)];
  assert.deepEqual(mainBusyPct(before, after, 2, 100), [25, 12.5]);
  assert.deepEqual(mainBusyPct(before, after, 0, 100), [0, 0]);
});

const SYSTEMS: Record<CpuRole, string> = {
  sink: 'ceiling (smtp-server)',
  'sink-equal-rate': "ceiling (smtp-server) at smtpipe's rate",
  smtpipe: 'smtpipe (native)',
  'smtpipe-processes': 'smtpipe (native, Processes = 2)',
};

function run(role: CpuRole, mainUs: number, msgsPerSecond: number, processes = 1): CpuServerRun {
  const sink = role === 'sink' || role === 'sink-equal-rate';
  return {
    system: SYSTEMS[role],
    role,
    offeredRate: role === 'sink-equal-rate' ? msgsPerSecond : null,
    processes,
    status: 'ok',
    note: null,
    messages: 4000,
    seconds: 4000 / msgsPerSecond,
    msgsPerSecond,
    mainBusyPct: processes > 1 ? [40, 38] : [55],
    cpu: { mainUs, workerUs: sink ? 0 : 300, otherThreadsUs: 50, programUs: sink ? 0 : 1200, primaryUs: processes > 1 ? 40 : 0, processes },
    generatorUs: 300,
    otherLoadCores: 0.5,
  };
}

/** Per round: sink main at full speed, smtpipe main, Processes = 2 msgs/s, sink main at smtpipe's rate (null: a run that did not happen). */
function cpuResult(rounds: Array<[number, number, number | null, number | null]>, processesOption: number | null = 2): CpuResult {
  return {
    status: 'ok',
    note: null,
    point: { connections: 50, size: '2k', sizeBytes: 2048, durationSeconds: 10 },
    warmupMessages: 1000,
    messages: 4000,
    clockTicksPerSecond: 100,
    processesOption,
    cores: 2,
    rounds: rounds.map(([sinkMain, smtpipeMain, twoRate, sinkAtRateMain], i) => ({
      round: i + 1,
      servers: [
        run('sink', sinkMain, 900),
        run('smtpipe', smtpipeMain, 500),
        ...(twoRate === null ? [] : [run('smtpipe-processes', smtpipeMain, twoRate, 2)]),
        sinkAtRateMain === null ? { ...run('sink-equal-rate', 0, 0), status: 'skipped' as const, cpu: null, offeredRate: null } : run('sink-equal-rate', sinkAtRateMain, 500),
      ],
      loop: { status: 'ok', note: null, spawns: 4000, spawnsPerSecond: 1000, selfUs: 100, childrenUs: 1000 },
    })),
  };
}

test('cpu targets: main thread judged against the sink at equal rate, full speed beside it; Processes = 2 against one', () => {
  // Full speed: 2.00, 2.50, 2.00 (FAIL there); equal rate: 1.20, 1.20, 1.00 (PASS, the judged figure).
  const [main, procs] = cpuTargets(cpuResult([[240, 480, 520, 400], [240, 600, 480, 500], [250, 500, 510, 500]]));
  assert.equal(main?.verdict, 'PASS');
  assert.equal(main?.value, 1.2);
  assert.match(main?.name ?? '', /at equal rate/);
  assert.match(main?.detail ?? '', /^at equal rate 1\.20 \(1\.20, 1\.20, 1\.00 per round\): 500 vs 500 us\/msg at 500 msgs\/s/);
  assert.match(main?.detail ?? '', /full speed 2\.00 \(2\.00, 2\.50, 2\.00 per round\), sink 240 us\/msg at 900 msgs\/s/);
  assert.equal(procs?.verdict, 'PASS');
  assert.equal(procs?.name, 'cpu: c=50 2k msgs/s, Processes = 2 / 1 process');
  assert.equal(procs?.value, 1.02);

  // Cheap at full speed (1.0x) but dear at equal rate: FAIL, judged on the equal-rate figure.
  const [slow, slower] = cpuTargets(cpuResult([[900, 900, 450, 400], [950, 950, 450, 400], [850, 850, 450, 400]]));
  assert.equal(slow?.verdict, 'FAIL');
  assert.equal(slow?.value, 2.25);
  assert.equal(slower?.verdict, 'FAIL');

  assert.deepEqual(cpuTargets(null).map((t) => t.verdict), ['SKIP', 'SKIP']);
  const noOption = cpuTargets(cpuResult([[400, 480, null, 400]], null));
  assert.deepEqual(noOption.map((t) => t.verdict), ['PASS', 'SKIP']);
  assert.match(noOption[1]?.detail ?? '', /no Processes option/);
  // No equal-rate run (an older result): SKIP, with the full-speed ratio still shown.
  const noRate = cpuTargets(cpuResult([[400, 480, 520, null]]))[0];
  assert.equal(noRate?.verdict, 'SKIP');
  assert.match(noRate?.detail ?? '', /full speed 1\.20 \(1\.20 per round\)/);
});

test('equal rate: the sink is offered what smtpipe reached that round; the ratios pair rounds by number', () => {
  assert.equal(equalRateFor(run('smtpipe', 900, 121.349)), 121.3);
  assert.equal(equalRateFor(run('smtpipe', 900, 0.01)), 0.1);
  assert.equal(equalRateFor({ ...run('smtpipe', 900, 0), status: 'failed' }), null);
  assert.equal(equalRateFor({ ...run('smtpipe', 900, 120), status: 'failed' }), null);
  // Round 2's sink at rate was skipped: the equal-rate ratios are of rounds 1 and 3 only.
  const { fullSpeed, equalRate } = mainVsSink(cpuResult([[400, 800, 520, 400], [400, 1200, 480, null], [400, 600, 510, 500]]));
  assert.deepEqual(fullSpeed, { perRound: [2, 3, 1.5], rounds: [1, 2, 3], median: 2 });
  assert.deepEqual(equalRate, { perRound: [2, 1.2], rounds: [1, 3], median: 1.6 });
});

test('cpu model: costs from one process (other threads with the workers), checked against 1 and 2 processes', () => {
  const result = cpuResult([[400, 500, 520, 450]]);
  assert.equal(mediansOf(result, 'smtpipe')?.totalUs, 500 + 300 + 50 + 1200);
  const model = cpuModel(result);
  assert.deepEqual(model?.costs, { mainUs: 500, workerUs: 350, programUs: 1200, primaryUs: 0 });
  // 2 cores / (2050 + 300 generator) = 851; 1.5 cores left by others' 0.5: 638.
  assert.deepEqual(model?.checks.map((k) => [k.processes, Math.round(k.predictedIdle), Math.round(k.predictedLoaded ?? 0), k.measured]), [
    [1, 851, 638, 500],
    [2, 837, 628, 520],
  ]);
});

test('cpu report section: rounds, the loop, ratios to the sink (full speed and equal rate) and the loop, the projection', () => {
  const text = cpuSection(cpuResult([[400, 500, 520, 450]])).join('\n');
  assert.match(text, /## CPU per message \(issue 17\)/);
  assert.ok(text.includes('| 1 | smtpipe (native) | 1 | 500 | 55 | 500 | 300 | 50 | 1200 | 0 | 2050 | 300 | 0.50 |  |'), text);
  assert.ok(text.includes('| 1 | 1000 | 100 | 1000 | 1100 |  |'));
  assert.ok(text.includes('| 1 | smtpipe (native, Processes = 2) | 2 | 520 | 40 / 38 | 500 |'), text);
  assert.ok(text.includes("| 1 | ceiling (smtp-server) at smtpipe's rate | 1 | 500 | 55 | 450 | 0 | 50 | 0 | 0 | 500 | 300 | 0.50 | -R 500 |"), text);
  // Per round: main / sink at full speed and at equal rate, the rates, Processes = 2 / 1.
  assert.ok(text.includes('| 1 | 1.25 | 1.11 | 900 / 500 / 500 | 1.04 |'), text);
  assert.ok(text.includes('| smtpipe (native) | main thread(s) | 500 | 1.25 | 1.11 | 0.45 |'), text);
  assert.ok(text.includes('| smtpipe (native, Processes = 2) | primary | 40 | 0.10 | 0.09 | 0.04 |'), text);
  assert.ok(text.includes('| 16 | 2000 | event loops | 7805 | cores |'), text);
});

test('--processes N asks for the Processes = N run; below 2 is a usage error', () => {
  const ok = parseRunArgs(['--only', 'cpu', '--processes', '3']);
  assert.equal(ok.kind === 'run' && ok.options.processes, 3);
  assert.equal(ok.kind === 'run' && ok.options.only?.has('cpu'), true);
  const bad = parseRunArgs(['--processes', '1']);
  assert.equal(bad.kind, 'error');
});
