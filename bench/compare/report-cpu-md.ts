// The report's section for the cpu group (issue 17): CPU per message per round, the medians
// with their ratios to the bare sink and the C spawn loop, and the cost model's projection
// and check. Pure: a CpuResult in, Markdown lines out.

import { totalUs } from './cost-model.js';
import { ratio, totalCpuUs } from './cpu-costs.js';
import { cpuModel, loopUs, mainVsSink, mediansOf, pairedRounds, type CpuMedians, type PairedRatios } from './cpu-targets.js';
import { markdownTable } from './report-md-table.js';
import type { CpuResult, CpuServerRun } from './types.js';

const num = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
const statusNote = (r: { status: string; note: string | null }) => (r.status === 'ok' ? (r.note ?? '') : `${r.status.toUpperCase()}: ${r.note ?? ''}`);
const runNote = (r: CpuServerRun) => [r.offeredRate === null ? '' : `-R ${r.offeredRate}`, statusNote(r)].filter((t) => t !== '').join('; ');

function runRow(round: number, r: CpuServerRun): string[] {
  const c = r.cpu;
  return [
    String(round),
    r.system,
    String(r.processes),
    num(r.msgsPerSecond),
    r.mainBusyPct.length > 0 ? r.mainBusyPct.map((p) => num(p)).join(' / ') : '-',
    num(c?.mainUs),
    num(c?.workerUs),
    num(c?.otherThreadsUs),
    num(c?.programUs),
    num(c?.primaryUs),
    c ? num(totalCpuUs(c)) : '-',
    num(r.generatorUs),
    num(r.otherLoadCores, 2),
    runNote(r),
  ];
}

/** Rows "figure | us/msg | / sink main (full speed, equal rate) | / C loop" for one smtpipe's medians. */
function ratioRows(m: CpuMedians, sinkMain: number | null, sinkAtRateMain: number | null, loop: number | null): string[][] {
  const rows: Array<[string, number]> = [
    ['main thread(s)', m.cpu.mainUs],
    ['pool workers', m.cpu.workerUs],
    ['other threads', m.cpu.otherThreadsUs],
    ['programs', m.cpu.programUs],
    ...(m.processes > 1 ? [['primary', m.cpu.primaryUs] as [string, number]] : []),
    ['total', m.totalUs],
  ];
  return rows.map(([figure, us]) => [m.system, figure, num(us), num(ratio(us, sinkMain), 2), num(ratio(us, sinkAtRateMain), 2), num(ratio(us, loop), 2)]);
}

/** Per round: main thread / sink at full speed and at equal rate, and Processes = N / 1 in msgs/s. */
function perRoundRatios(cpu: CpuResult): string[] {
  const byRound = (p: PairedRatios) => (round: number) => {
    const i = p.rounds.indexOf(round);
    return i < 0 ? '-' : num(p.perRound[i], 2);
  };
  const { fullSpeed, equalRate } = mainVsSink(cpu);
  const full = byRound(fullSpeed);
  const equal = byRound(equalRate);
  const many = byRound(pairedRounds(cpu, 'smtpipe-processes', 'smtpipe', (r) => r.msgsPerSecond));
  const rate = (round: number, role: string) => num(cpu.rounds.find((r) => r.round === round)?.servers.find((s) => s.role === role && s.status === 'ok')?.msgsPerSecond);
  return [
    markdownTable(
      ['round', 'main / sink, full speed', 'main / sink, equal rate', 'msgs/s: sink full / smtpipe / sink at its rate', `msgs/s, Processes = ${cpu.processesOption ?? 'N'} / 1`],
      cpu.rounds.map((r) => [String(r.round), full(r.round), equal(r.round), `${rate(r.round, 'sink')} / ${rate(r.round, 'smtpipe')} / ${rate(r.round, 'sink-equal-rate')}`, many(r.round)]),
    ),
    '',
  ];
}

export function cpuSection(cpu: CpuResult): string[] {
  const { point } = cpu;
  const out = [
    '## CPU per message (issue 17)',
    '',
    `c=${point.connections}, ${point.size}, one connection per message; ${cpu.messages} messages per run after ${cpu.warmupMessages} of warm-up, ${cpu.rounds.length} rounds,`,
    `the servers in alternating order, then the C posix_spawn loop (same program, same stdin). us/msg: utime+stime from /proc/PID/task/TID/stat`,
    `(CLK_TCK ${cpu.clockTicksPerSecond}) divided by the 2xx replies. Main thread: TID == PID (summed over the front ends). Pool workers: threads named`,
    'like the main thread (created after process.title). Other threads: the rest of the process (V8, libuv pool, threads that exited).',
    'Main busy %: each front end\'s main thread over the run, % of one core (100 % = that event loop is the limit).',
    "Programs: the daemon's cutime+cstime (children it reaped). Generator: the load generator's CPU, which shares the cores.",
    '',
  ];
  if (cpu.status !== 'ok') out.push(`${cpu.status.toUpperCase()}: ${cpu.note ?? ''}`, '');
  out.push(
    markdownTable(
      ['round', 'system', 'procs', 'msgs/s', 'main busy %', 'main us', 'workers us', 'other us', 'programs us', 'primary us', 'total us', 'generator us', 'others\' load, cores', 'note'],
      cpu.rounds.flatMap((r) => r.servers.map((s) => runRow(r.round, s))),
    ),
    '',
    markdownTable(
      ['round', 'C loop spawns/s', 'loop us/spawn', 'programs us/spawn', 'total us/spawn', 'note'],
      cpu.rounds.map((r) => [String(r.round), num(r.loop.spawnsPerSecond), num(r.loop.selfUs), num(r.loop.childrenUs), num((r.loop.selfUs ?? NaN) + (r.loop.childrenUs ?? NaN)), statusNote(r.loop)]),
    ),
    '',
  );
  out.push(
    "Main thread per message against the sink's, per round: at full speed (the sink runs ~10x smtpipe's msgs/s and so handles several messages",
    "per event-loop wake-up) and at equal rate (the sink offered smtpipe's msgs/s of that round with smtp-load -R: the work per message; the target's figure).",
    '',
    ...perRoundRatios(cpu),
  );
  const sink = mediansOf(cpu, 'sink');
  const sinkAtRate = mediansOf(cpu, 'sink-equal-rate');
  const loop = loopUs(cpu);
  const smtpipes = [mediansOf(cpu, 'smtpipe'), mediansOf(cpu, 'smtpipe-processes')].filter((m): m is CpuMedians => m !== null);
  if (smtpipes.length > 0) {
    out.push(
      `Medians of the rounds, each against the bare sink's main thread at full speed (${num(sink?.cpu.mainUs)} us/msg; whole process ${num(sink?.totalUs)}),`,
      `at smtpipe's rate (${num(sinkAtRate?.cpu.mainUs)} us/msg; whole process ${num(sinkAtRate?.totalUs)}) and the C loop's CPU per spawn (${num(loop?.total)} us: ${num(loop?.self)} the loop, ${num(loop?.children)} its programs):`,
      '',
      markdownTable(
        ['smtpipe', 'figure', 'us/msg', '/ sink main, full speed', '/ sink main, equal rate', '/ C loop'],
        smtpipes.flatMap((m) => ratioRows(m, sink?.cpu.mainUs ?? null, sinkAtRate?.cpu.mainUs ?? null, loop?.total ?? null)),
      ),
      '',
    );
  }
  const model = cpuModel(cpu);
  if (model !== null) {
    const c = model.costs;
    out.push(
      `Cost model (bench/README.md): msgs/s = min(processes x 1e6 / main, cores x 1e6 / total), from one process's medians: main ${num(c.mainUs)},`,
      `workers + other threads ${num(c.workerUs)}, programs ${num(c.programUs)}, total ${num(totalUs(c))} us/msg. Nothing else on the cores:`,
      '',
      markdownTable(
        ['cores', 'Processes = 1', 'bound', 'Processes = auto', 'bound'],
        model.table.map((row) => [String(row.cores), num(row.single.msgsPerSecond), row.single.bound, num(row.perCore.msgsPerSecond), row.perCore.bound]),
      ),
      '',
      `Check on this machine (${cpu.cores} cores; the generator's CPU per message counted as other load on them; "loaded": less the cores`,
      "other jobs kept busy meanwhile, from /proc/stat's busy time minus the server's and the generator's):",
      '',
      markdownTable(
        ['processes', 'measured msgs/s', 'predicted, idle machine', 'measured / predicted', 'others\' load, cores', 'predicted, loaded', 'measured / predicted'],
        model.checks.map((k) => [
          String(k.processes),
          num(k.measured),
          num(k.predictedIdle),
          num(ratio(k.measured, k.predictedIdle), 2),
          num(k.otherLoadCores, 2),
          num(k.predictedLoaded),
          num(ratio(k.measured, k.predictedLoaded), 2),
        ]),
      ),
      '',
    );
  }
  return out;
}
