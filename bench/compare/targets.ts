// Ratios between systems of the same run, and the targets as PASS/FAIL/SKIP
// lines. Pure: reads a run's results, never measures; a missing result is a SKIP that
// says what is missing, never a silent pass.

import { LOOP_NAME, SYSTEM, smtpipeSpawner } from './names.js';
import { GROWTH_GOAL, growthPasses, secondsLabel } from './resources.js';
import { cpuTargets } from './cpu-targets.js';
import { baselineTarget, heldLargeTarget, largeCeilingTarget } from './targets-spool.js';
import type { CpuResult, HeldLargeResult, InterleavedResult, LoopKind, Measurement, MemoryResult, ResourcesResult, SpawnLoopResult, TargetResult, Verdict } from './types.js';

export interface RunResults {
  readonly measurements: readonly Measurement[];
  readonly spawnLoops: readonly SpawnLoopResult[];
  readonly memory: readonly MemoryResult[];
  /** null when the resources group did not run. */
  readonly resources: ResourcesResult | null;
  /** Issue 13's groups; absent or null when they did not run. */
  readonly heldLarge?: HeldLargeResult | null;
  readonly interleaved?: readonly InterleavedResult[];
  /** Issue 17's cpu group; absent or null when it did not run. */
  readonly cpu?: CpuResult | null;
}

/** The headline point of the targets. */
export const TARGET_POINT = { connections: 50, size: '2k' } as const;

export const GOALS = {
  vsNaive: 1.8,
  vsHaraka: 1.8,
  vsPostfixE2e: 2,
  vsCLoop: 0.55,
  /** smtpipe's p99 at most this many times the same spawner's loop p99. */
  p99VsLoop: 2,
  /** Share of the stdin bandwidth of the same spawner's loop, large messages. */
  bandwidth: 0.5,
  /** Issue 13: small-message msgs/s while 200 x 1 MB are in flight stays >= 0.9x of without. */
  memoryRatio: 0.9,
} as const;

export function findMeasurement(results: RunResults, system: string, connections: number, size: string): Measurement | undefined {
  return results.measurements.find(
    (m) => m.status === 'ok' && m.system === system && m.point.connections === connections && m.point.size === size,
  );
}

export function findLoop(results: RunResults, loop: LoopKind, concurrency: number, stdinBytes: number): SpawnLoopResult | undefined {
  return results.spawnLoops.find(
    (l) => l.status === 'ok' && l.loop === loop && l.concurrency === concurrency && l.stdinBytes === stdinBytes,
  );
}

/** Names of the smtpipe systems that produced at least one result, in order of appearance. */
export function smtpipeSystems(results: RunResults): string[] {
  return [...new Set(results.measurements.map((m) => m.system).filter((s) => smtpipeSpawner(s) !== null))];
}

function loopKind(spawner: string): LoopKind | null {
  return spawner === 'child_process' || spawner === 'native' ? spawner : null;
}

export interface RatioRow {
  readonly system: string;
  readonly connections: number;
  readonly size: string;
  /** Column name -> smtpipe msgs/s divided by that system's (or loop's spawns/s); null = no data. */
  readonly ratios: ReadonlyMap<string, number | null>;
}

/** The comparison columns, in report order. */
export const RATIO_COLUMNS = [
  SYSTEM.naive,
  SYSTEM.naiveNative,
  SYSTEM.haraka,
  SYSTEM.postfixE2e,
  SYSTEM.postfixQueued,
  SYSTEM.smtpSink,
  SYSTEM.ceiling,
  'spawn loop (same spawner)',
  LOOP_NAME['c-posix_spawn'],
] as const;

/** smtpipe against every other system and loop, at every point where smtpipe has a result. */
export function computeRatios(results: RunResults): RatioRow[] {
  const rows: RatioRow[] = [];
  for (const system of smtpipeSystems(results)) {
    const kind = loopKind(smtpipeSpawner(system) ?? '');
    for (const m of results.measurements) {
      if (m.system !== system || m.status !== 'ok') continue;
      const { connections, size, sizeBytes } = m.point;
      const ratios = new Map<string, number | null>();
      for (const column of RATIO_COLUMNS) {
        let other: number | undefined;
        if (column === 'spawn loop (same spawner)') {
          other = kind ? findLoop(results, kind, connections, sizeBytes)?.spawnsPerSecond : undefined;
        } else if (column === LOOP_NAME['c-posix_spawn']) {
          other = findLoop(results, 'c-posix_spawn', connections, sizeBytes)?.spawnsPerSecond;
        } else {
          other = findMeasurement(results, column, connections, size)?.msgsPerSecond;
        }
        ratios.set(column, other && other > 0 ? m.msgsPerSecond / other : null);
      }
      rows.push({ system, connections, size, ratios });
    }
  }
  return rows;
}

function judge(name: string, value: number | null, goal: string, pass: (v: number) => boolean, detail: string, missing: string): TargetResult {
  if (value === null || !Number.isFinite(value)) return { verdict: 'SKIP', name, value: null, goal, detail: missing };
  const verdict: Verdict = pass(value) ? 'PASS' : 'FAIL';
  return { verdict, name, value, goal, detail };
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

/**
 * The most a system can reach when it must do the work of two others that each alone
 * reach `a` and `b` on the same CPUs: 1 / (1/a + 1/b). smtpipe does the SMTP front end's
 * work (the ceiling) and the programs' (the loop) on one machine.
 */
export function sharedCpuBound(a: number, b: number): number {
  return 1 / (1 / a + 1 / b);
}

/**
 * "; front end + programs on these CPUs: at most 0.55x (smtpipe at 69 % of it)", from the
 * ceiling's and the loop's rates at the same point, both in the unit of `own`; '' without
 * a ceiling result.
 */
function boundNote(own: number, ceiling: number | undefined, loop: number): string {
  if (ceiling === undefined || ceiling <= 0 || loop <= 0) return '';
  const bound = sharedCpuBound(ceiling, loop);
  return `; front end + programs on these CPUs: at most ${fmt(bound / loop, 2)}x (smtpipe at ${fmt((100 * own) / bound)}% of it)`;
}

/**
 * "; smtp-server + native spawn, no pool (naive-native): 0.40x (smtpipe at 90% of it)":
 * how near the leanest design on the same spawner gets, measured in the same run; ''
 * without it.
 */
function referenceNote(own: number, reference: number | undefined, loop: number): string {
  if (reference === undefined || reference <= 0 || loop <= 0) return '';
  return `; smtp-server + native spawn, no pool (naive-native): ${fmt(reference / loop, 2)}x (smtpipe at ${fmt((100 * own) / reference)}% of it)`;
}

/** Every target for every smtpipe spawner present in the run, then the resources group's, issue 13's and issue 17's. */
export function evaluateTargets(results: RunResults): TargetResult[] {
  const interleaved = results.interleaved ?? [];
  return [
    ...matrixTargets(results),
    ...memoryTargets(results),
    growthTarget(results.resources),
    heldLargeTarget(results.heldLarge ?? null),
    largeCeilingTarget(interleaved),
    baselineTarget(interleaved),
    ...cpuTargets(results.cpu),
  ];
}

/** RSS growth over the steady run: PASS when the slope or the relative rise is small. */
export function growthTarget(resources: ResourcesResult | null): TargetResult {
  const goal = `< ${GROWTH_GOAL.slopeMbPerMin} MB/min or < ${GROWTH_GOAL.growthPct}%`;
  if (resources === null) return { verdict: 'SKIP', name: 'resources: RSS growth', value: null, goal, detail: 'the resources group did not run' };
  const g = resources.growth;
  const name = `resources: ${resources.system} RSS growth at c=${g.connections} ${g.size}, ${secondsLabel(g.fitFromSeconds)} to ${secondsLabel(g.durationSeconds)}, MB/min`;
  if (g.status !== 'ok' || g.slopeMbPerMin === null) {
    return { verdict: 'SKIP', name, value: null, goal, detail: `growth run ${g.status}: ${g.note ?? 'no slope'}` };
  }
  const first = g.checkpoints[0];
  const last = g.checkpoints[g.checkpoints.length - 1];
  const rss = first?.rssMb != null && last?.rssMb != null ? `, RSS ${fmt(first.rssMb)} MB at ${secondsLabel(first.seconds)} -> ${fmt(last.rssMb)} MB at ${secondsLabel(last.seconds)}` : '';
  const growth = g.growthPct === null || !Number.isFinite(g.growthPct) ? '-' : `${fmt(g.growthPct, 1)}%`;
  return {
    verdict: growthPasses(g.slopeMbPerMin, g.growthPct) ? 'PASS' : 'FAIL',
    name,
    value: g.slopeMbPerMin,
    goal,
    detail: `growth ${growth}${rss}`,
  };
}

function matrixTargets(results: RunResults): TargetResult[] {
  const targets: TargetResult[] = [];
  const { connections: c, size } = TARGET_POINT;
  const label = `c=${c} ${size}`;
  const systems = smtpipeSystems(results);
  if (systems.length === 0) {
    return [{ verdict: 'SKIP', name: 'smtpipe targets', value: null, goal: '-', detail: 'no smtpipe result in this run' }];
  }
  for (const system of systems) {
    const kind = loopKind(smtpipeSpawner(system) ?? '');
    const own = findMeasurement(results, system, c, size);
    const ownMissing = `no ${system} result at ${label}`;
    const versus = (other: string, goal: number) => {
      const theirs = findMeasurement(results, other, c, size);
      const value = own && theirs && theirs.msgsPerSecond > 0 ? own.msgsPerSecond / theirs.msgsPerSecond : null;
      const detail = own && theirs ? `${fmt(own.msgsPerSecond)} vs ${fmt(theirs.msgsPerSecond)} msgs/s` : '';
      targets.push(judge(`${label}: ${system} / ${other}`, value, `>= ${goal}x`, (v) => v >= goal, detail, own ? `no ${other} result at ${label}` : ownMissing));
    };
    versus(SYSTEM.naive, GOALS.vsNaive);
    versus(SYSTEM.haraka, GOALS.vsHaraka);
    versus(SYSTEM.postfixE2e, GOALS.vsPostfixE2e);

    const cLoop = findLoop(results, 'c-posix_spawn', c, own?.point.sizeBytes ?? 2048);
    targets.push(
      judge(
        `${label}: ${system} / ${LOOP_NAME['c-posix_spawn']}`,
        own && cLoop ? own.msgsPerSecond / cLoop.spawnsPerSecond : null,
        `>= ${GOALS.vsCLoop}x`,
        (v) => v >= GOALS.vsCLoop,
        own && cLoop
          ? `${fmt(own.msgsPerSecond)} msgs/s vs ${fmt(cLoop.spawnsPerSecond)} spawns/s` +
              boundNote(own.msgsPerSecond, findMeasurement(results, SYSTEM.ceiling, c, size)?.msgsPerSecond, cLoop.spawnsPerSecond) +
              referenceNote(own.msgsPerSecond, findMeasurement(results, SYSTEM.naiveNative, c, size)?.msgsPerSecond, cLoop.spawnsPerSecond)
          : '',
        own ? `no ${LOOP_NAME['c-posix_spawn']} result at c=${c}` : ownMissing,
      ),
    );

    const loop = kind ? findLoop(results, kind, c, own?.point.sizeBytes ?? 2048) : undefined;
    const loopName = kind ? LOOP_NAME[kind] : 'spawn loop';
    targets.push(
      judge(
        `${label}: p99 ${system} / ${loopName} p99`,
        own?.p99Ms != null && loop?.p99Ms ? own.p99Ms / loop.p99Ms : null,
        `<= ${GOALS.p99VsLoop}x`,
        (v) => v <= GOALS.p99VsLoop,
        own?.p99Ms != null && loop?.p99Ms ? `${fmt(own.p99Ms, 1)} ms vs ${fmt(loop.p99Ms, 1)} ms` : '',
        own ? `no ${loopName} result at c=${c}` : ownMissing,
      ),
    );

    const large = results.measurements.filter((m) => m.system === system && m.status === 'ok' && m.point.size === '10m');
    if (large.length === 0) {
      targets.push(judge(`10m: ${system} bandwidth / ${loopName}`, null, `>= ${GOALS.bandwidth * 100}%`, () => false, '', `no ${system} result at 10m`));
    }
    for (const m of large) {
      const base = kind ? findLoop(results, kind, m.point.connections, m.point.sizeBytes) : undefined;
      targets.push(
        judge(
          `c=${m.point.connections} 10m: ${system} bandwidth / ${loopName} stdin bandwidth`,
          base && base.bytesPerSecond > 0 ? m.bytesPerSecond / base.bytesPerSecond : null,
          `>= ${GOALS.bandwidth * 100}%`,
          (v) => v >= GOALS.bandwidth,
          base
            ? `${fmt(m.bytesPerSecond / 1048576, 1)} vs ${fmt(base.bytesPerSecond / 1048576, 1)} MB/s` +
                boundNote(m.bytesPerSecond, findMeasurement(results, SYSTEM.ceiling, m.point.connections, m.point.size)?.bytesPerSecond, base.bytesPerSecond) +
                referenceNote(m.bytesPerSecond, findMeasurement(results, SYSTEM.naiveNative, m.point.connections, m.point.size)?.bytesPerSecond, base.bytesPerSecond)
            : '',
          `no ${loopName} result with 10m stdin at c=${m.point.connections}`,
        ),
      );
    }

  }
  return targets;
}


/**
 * Small-message msgs/s with 200 x 1 MB in flight / without, for every smtpipe system of the
 * matrix or of the memory group (so `--only memory` is judged too).
 */
function memoryTargets(results: RunResults): TargetResult[] {
  const systems = [...new Set([...smtpipeSystems(results), ...results.memory.map((r) => r.system)])];
  return systems.map((system) => {
    const memory = results.memory.find((r) => r.system === system);
    return judge(
      `memory: ${system} small msgs/s with ${memory?.heldMessages ?? 200} x ${memory ? fmt(memory.heldBytes / memory.heldMessages / 1048576) : 1} MB in flight / without`,
      memory?.status === 'ok' ? memory.ratio : null,
      `>= ${GOALS.memoryRatio}x`,
      (v) => v >= GOALS.memoryRatio,
      memory?.baseline && memory.loaded ? `${fmt(memory.loaded.msgsPerSecond)} vs ${fmt(memory.baseline.msgsPerSecond)} msgs/s` : '',
      memory ? `memory scenario ${memory.status}: ${memory.note ?? ''}` : `no memory scenario for ${system}`,
    );
  });
}

/** "PASS  c=50 2k: smtpipe (native) / naive = 2.31 (>= 1.8x; 2310 vs 1000 msgs/s)". */
export function formatTarget(t: TargetResult): string {
  const value = t.value === null ? '-' : t.value.toFixed(2);
  const detail = t.detail ? `; ${t.detail}` : '';
  return `${t.verdict.padEnd(4)}  ${t.name} = ${value} (${t.goal}${detail})`;
}
