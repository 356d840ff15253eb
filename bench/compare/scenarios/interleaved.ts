// Two systems measured in turn at one point, several rounds in ABBA order (A B, B A, A B...),
// both started once and kept up: a ratio between them then spans the same stretch of the
// shared machine's noise. The large-ceiling and baseline groups (issue 13's targets 2 and 3).

import { existsSync } from 'node:fs';
import { runCommand, sleep } from '../processes.js';
import type { InterleavedPlan } from '../plan.js';
import { missingMeasurement } from '../results.js';
import type { InterleavedResult, Measurement } from '../types.js';
import { describeError, SkipError, type BenchContext } from './context.js';
import { measurePoint, type SmtpSystem, type StartedSystem } from './smtp-matrix.js';
import { startSmtpipe, type SpawnerChoice } from './smtpipe.js';

/** Round r runs the systems in this order: forwards on even rounds, backwards on odd ones. */
export function roundOrder<T>(systems: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...systems] : [...systems].reverse();
}

export async function runInterleaved(ctx: BenchContext, group: string, systems: readonly SmtpSystem[], plan: InterleavedPlan): Promise<InterleavedResult> {
  const { point, rounds } = plan;
  const base = { group, point, systems: systems.map((s) => s.name), rounds };
  const started: StartedSystem[] = [];
  try {
    for (const system of systems) started.push(await system.start(ctx));
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    const status = err instanceof SkipError ? 'skipped' : 'failed';
    ctx.note(`${group}: ${status}: ${describeError(err)}`);
    ctx.log(`${group}: ${status}: ${describeError(err)}`);
    return { ...base, status, note: describeError(err), measurements: [] };
  }
  const measurements: Measurement[] = [];
  try {
    for (const [i, system] of systems.entries()) await measurePoint(ctx, system, started[i] as StartedSystem, { ...point, durationSeconds: 2 }); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const i of roundOrder(systems.map((_, k) => k), round)) {
        const system = systems[i] as SmtpSystem;
        ctx.log(`${group}, round ${round + 1}/${rounds}: ${system.name} c=${point.connections} ${point.size} ${point.durationSeconds}s`);
        try {
          const [m] = await measurePoint(ctx, system, started[i] as StartedSystem, point);
          if (m) {
            ctx.log(`  ${m.status === 'ok' ? `${m.msgsPerSecond.toFixed(1)} msgs/s` : m.status}${m.note ? ` (${m.note})` : ''}`);
            measurements.push(m);
          }
        } catch (err) {
          ctx.log(`  failed: ${describeError(err)}`);
          measurements.push(missingMeasurement(system.name, point, 'failed', describeError(err)));
        }
        await sleep(1000);
      }
    }
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
  const ok = measurements.filter((m) => m.status === 'ok');
  return { ...base, status: ok.length > 0 ? 'ok' : 'failed', note: ok.length > 0 ? null : 'no round succeeded', measurements };
}

/** smtpipe from another built checkout: its dist/src/ops/cli.js on the same generated config. */
export async function baselineSystem(ctx: BenchContext, checkout: string, spawner: SpawnerChoice | null, name: string): Promise<SmtpSystem> {
  const cli = `${checkout}/dist/src/ops/cli.js`;
  const head = await runCommand('git', ['-C', checkout, 'log', '-1', '--format=%h %s'], { timeoutMs: 10_000 });
  if (head.code === 0) ctx.note(`${name}: ${checkout} at ${head.stdout.trim()}`);
  return {
    name,
    async start(c) {
      if (!existsSync(cli)) throw new SkipError(`${cli} not found: build the checkout first (npm ci && npm run build there)`);
      return startSmtpipe(c, name, { spawner, cli, tag: 'baseline' });
    },
  };
}
