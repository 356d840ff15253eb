// The cpu group's figures across rounds (medians) and issue 17's two targets as PASS/FAIL/SKIP
// lines: smtpipe's main-thread CPU per message against the bare smtp-server sink's (judged at
// equal rate, full speed beside it), and `Processes = N` against one process. Pure: reads a
// CpuResult; a missing figure is a SKIP.

import { checkModel, projectionTable, type MessageCosts, type ProjectionRow } from './cost-model.js';
import { ratio, totalCpuUs, type CpuPerMessage } from './cpu-costs.js';
import { median } from './resources.js';
import type { CpuLoopRun, CpuResult, CpuRole, CpuServerRun, TargetResult } from './types.js';

export const CPU_GOALS = {
  /** smtpipe's main-thread us/msg / the bare sink's, at most. */
  mainVsSink: 1.3,
  /** msgs/s with Processes = N / with one process, at least ("no slower"). */
  processesVsOne: 1.0,
} as const;

const fmt = (n: number, digits = 0) => n.toFixed(digits);

/** The figure keys of CpuPerMessage that are CPU per message. */
export const CPU_FIGURES = ['mainUs', 'workerUs', 'otherThreadsUs', 'programUs', 'primaryUs'] as const;
export type CpuFigure = (typeof CPU_FIGURES)[number];

export function okRuns(cpu: CpuResult, role: CpuRole): CpuServerRun[] {
  return cpu.rounds.map((r) => r.servers.find((s) => s.role === role)).filter((s): s is CpuServerRun => s !== undefined && s.status === 'ok' && s.cpu !== null);
}

/** Medians over the ok rounds of one server, or null without any. */
export interface CpuMedians {
  readonly system: string;
  readonly processes: number;
  readonly msgsPerSecond: number;
  readonly cpu: CpuPerMessage;
  readonly totalUs: number;
  readonly generatorUs: number | null;
  readonly otherLoadCores: number | null;
}

export function mediansOf(cpu: CpuResult, role: CpuRole): CpuMedians | null {
  const runs = okRuns(cpu, role);
  const first = runs[0];
  if (first === undefined) return null;
  const med = (pick: (r: CpuServerRun) => number) => median(runs.map(pick)) as number;
  const figure = (key: CpuFigure) => med((r) => (r.cpu as CpuPerMessage)[key]);
  const gen = runs.filter((r) => r.generatorUs !== null).map((r) => r.generatorUs as number);
  return {
    system: first.system,
    processes: first.processes,
    msgsPerSecond: med((r) => r.msgsPerSecond),
    cpu: { mainUs: figure('mainUs'), workerUs: figure('workerUs'), otherThreadsUs: figure('otherThreadsUs'), programUs: figure('programUs'), primaryUs: figure('primaryUs'), processes: first.processes },
    totalUs: med((r) => totalCpuUs(r.cpu as CpuPerMessage)),
    generatorUs: median(gen),
    otherLoadCores: median(runs.filter((r) => r.otherLoadCores !== null).map((r) => r.otherLoadCores as number)),
  };
}

/** The C loop's CPU per spawn (its own + its programs'), median over ok rounds. */
export function loopUs(cpu: CpuResult): { total: number; self: number; children: number } | null {
  const ok = cpu.rounds.map((r) => r.loop).filter((l: CpuLoopRun) => l.status === 'ok' && l.selfUs !== null && l.childrenUs !== null);
  if (ok.length === 0) return null;
  const med = (pick: (l: CpuLoopRun) => number) => median(ok.map(pick)) as number;
  return { total: med((l) => (l.selfUs as number) + (l.childrenUs as number)), self: med((l) => l.selfUs as number), children: med((l) => l.childrenUs as number) };
}

/** The model's inputs from one smtpipe's medians: other threads count with the workers. */
export function messageCosts(m: CpuMedians): MessageCosts {
  // mainUs is summed over the front ends: per message it is the same work wherever it ran.
  return { mainUs: m.cpu.mainUs, workerUs: m.cpu.workerUs + m.cpu.otherThreadsUs, programUs: m.cpu.programUs, primaryUs: m.cpu.primaryUs };
}

/** The model against a measured rate on this machine, with the generator's CPU as other load. */
export interface CheckRow {
  readonly processes: number;
  readonly measured: number;
  /** All of this machine's cores for the daemon and the generator. */
  readonly predictedIdle: number;
  /** Less the cores other jobs kept busy meanwhile (the machine is shared). */
  readonly predictedLoaded: number | null;
  readonly otherLoadCores: number | null;
}

export interface CpuModel {
  readonly costs: MessageCosts;
  readonly table: readonly ProjectionRow[];
  /** One process and (when it ran) Processes = N. */
  readonly checks: readonly CheckRow[];
}

function checkRow(m: CpuMedians, cores: number): CheckRow {
  const costs = messageCosts(m);
  const otherUs = m.generatorUs ?? 0;
  const idle = checkModel(costs, { cores, otherUs }, m.processes, m.msgsPerSecond);
  const left = m.otherLoadCores === null ? null : cores - m.otherLoadCores;
  const loaded = left === null || left <= 0 ? null : checkModel(costs, { cores: left, otherUs }, m.processes, m.msgsPerSecond);
  return { processes: m.processes, measured: m.msgsPerSecond, predictedIdle: idle.predicted, predictedLoaded: loaded?.predicted ?? null, otherLoadCores: m.otherLoadCores };
}

export function cpuModel(cpu: CpuResult): CpuModel | null {
  const one = mediansOf(cpu, 'smtpipe');
  if (one === null || !(one.cpu.mainUs > 0)) return null;
  const checks = [checkRow(one, cpu.cores)];
  // N processes are checked with their own costs (the primary, the IPC): what they pay.
  const many = mediansOf(cpu, 'smtpipe-processes');
  if (many !== null) checks.push(checkRow(many, cpu.cores));
  return { costs: messageCosts(one), table: projectionTable(messageCosts(one)), checks };
}

/**
 * The rate to offer the sink in smtpipe's round: what smtpipe reached (2xx / s), to 0.1
 * msgs/s; null when that run measured nothing.
 */
export function equalRateFor(run: CpuServerRun): number | null {
  if (run.status !== 'ok' || !(run.msgsPerSecond > 0)) return null;
  return Math.max(0.1, Math.round(run.msgsPerSecond * 10) / 10);
}

export interface PairedRatios {
  readonly perRound: readonly number[];
  /** The round number of each ratio in perRound. */
  readonly rounds: readonly number[];
  readonly median: number | null;
}

/** Per-round ratios a/b of paired ok runs (round k of each), with their median. */
export function pairedRounds(cpu: CpuResult, a: CpuRole, b: CpuRole, value: (r: CpuServerRun) => number): PairedRatios {
  const perRound: number[] = [];
  const rounds: number[] = [];
  for (const round of cpu.rounds) {
    const x = round.servers.find((s) => s.role === a);
    const y = round.servers.find((s) => s.role === b);
    if (x?.status !== 'ok' || y?.status !== 'ok') continue;
    const r = ratio(value(x), value(y));
    if (r === null) continue;
    perRound.push(r);
    rounds.push(round.round);
  }
  return { perRound, rounds, median: median(perRound) };
}

const mainOf = (r: CpuServerRun) => r.cpu?.mainUs ?? NaN;

/** smtpipe's main thread / the sink's, against the sink at full speed and at smtpipe's rate. */
export function mainVsSink(cpu: CpuResult): { fullSpeed: PairedRatios; equalRate: PairedRatios } {
  return { fullSpeed: pairedRounds(cpu, 'smtpipe', 'sink', mainOf), equalRate: pairedRounds(cpu, 'smtpipe', 'sink-equal-rate', mainOf) };
}

const perRoundText = (p: PairedRatios) => (p.median === null ? 'not measured' : `${fmt(p.median, 2)} (${p.perRound.map((r) => fmt(r, 2)).join(', ')} per round)`);

export function cpuTargets(cpu: CpuResult | null | undefined): TargetResult[] {
  const mainGoal = `<= ${CPU_GOALS.mainVsSink}x`;
  const procGoal = `>= ${fmt(CPU_GOALS.processesVsOne, 1)}x`;
  const mainName = 'cpu: c=50 2k main-thread us/msg, smtpipe / bare smtp-server sink at equal rate';
  const procName = 'cpu: c=50 2k msgs/s, Processes = N / 1 process';
  if (!cpu) {
    return [
      { verdict: 'SKIP', name: mainName, value: null, goal: mainGoal, detail: 'the cpu group did not run' },
      { verdict: 'SKIP', name: procName, value: null, goal: procGoal, detail: 'the cpu group did not run' },
    ];
  }
  // Judged at equal rate: at full speed the sink answers ~10x more msgs/s and so wakes its
  // event loop once for many messages; that batching, not smtpipe's work, is the difference.
  const { fullSpeed, equalRate } = mainVsSink(cpu);
  const one = mediansOf(cpu, 'smtpipe');
  const sink = mediansOf(cpu, 'sink');
  const sinkAtRate = mediansOf(cpu, 'sink-equal-rate');
  const speeds = `full speed ${perRoundText(fullSpeed)}, sink ${fmt(sink?.cpu.mainUs ?? NaN)} us/msg at ${fmt(sink?.msgsPerSecond ?? NaN)} msgs/s`;
  const mainTarget: TargetResult =
    equalRate.median === null
      ? { verdict: 'SKIP', name: mainName, value: null, goal: mainGoal, detail: `no round with smtpipe and the sink at its rate both measured (${cpu.note ?? cpu.status}); ${speeds}` }
      : {
          verdict: equalRate.median <= CPU_GOALS.mainVsSink ? 'PASS' : 'FAIL',
          name: mainName,
          value: equalRate.median,
          goal: mainGoal,
          detail: `at equal rate ${perRoundText(equalRate)}: ${fmt(one?.cpu.mainUs ?? NaN)} vs ${fmt(sinkAtRate?.cpu.mainUs ?? NaN)} us/msg at ${fmt(one?.msgsPerSecond ?? NaN)} msgs/s (medians); ${speeds}`,
        };
  if (cpu.processesOption === null) {
    return [mainTarget, { verdict: 'SKIP', name: procName, value: null, goal: procGoal, detail: 'no Processes = N run (this build has no Processes option)' }];
  }
  const procs = pairedRounds(cpu, 'smtpipe-processes', 'smtpipe', (r) => r.msgsPerSecond);
  const name = procName.replace('N', String(cpu.processesOption));
  const many = mediansOf(cpu, 'smtpipe-processes');
  const procTarget: TargetResult =
    procs.median === null
      ? { verdict: 'SKIP', name, value: null, goal: procGoal, detail: 'no round with both measured' }
      : {
          verdict: procs.median >= CPU_GOALS.processesVsOne ? 'PASS' : 'FAIL',
          name,
          value: procs.median,
          goal: procGoal,
          detail: `${procs.perRound.map((r) => fmt(r, 2)).join(', ')} per round; ${fmt(many?.msgsPerSecond ?? NaN)} vs ${fmt(one?.msgsPerSecond ?? NaN)} msgs/s (medians)`,
        };
  return [mainTarget, procTarget];
}
