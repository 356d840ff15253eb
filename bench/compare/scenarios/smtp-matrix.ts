// Runs one SMTP system through every load point: start it, warm it up, then per point
// sample /proc while the generator runs (and, end to end, until the queue drained). The
// system is always stopped, and a failing point is recorded and the next one runs.

import { runGenerator } from '../generator.js';
import { startUsageSampler } from '../measure.js';
import { sleep } from '../processes.js';
import { endToEndMeasurement, measurementFromGenerator, missingMeasurement } from '../results.js';
import type { LoadPoint, Measurement } from '../types.js';
import { describeError, SkipError, type BenchContext } from './context.js';

export interface DrainResult {
  /** Messages delivered since the point started. */
  readonly delivered: number;
  /** Date.now() when the last of them was seen delivered (or when waiting gave up). */
  readonly drainedAtMs: number;
  readonly complete: boolean;
  readonly note: string | null;
}

export interface StartedSystem {
  readonly port: number;
  /** Root of the process tree measured in /proc. */
  readonly rootPid: number;
  isAlive(): boolean;
  /** Called before each point (e.g. remember where the mail log ends). */
  beforePoint?(): Promise<void>;
  /** End-to-end systems: waits until `accepted` messages have been delivered. */
  drain?(accepted: number): Promise<DrainResult>;
  stop(): Promise<void>;
}

export interface SmtpSystem {
  /** Row name; for an end-to-end system, the row of what was accepted (queued). */
  readonly name: string;
  /** Row name of the end-to-end figures, when the system has drain(). */
  readonly e2eName?: string;
  start(ctx: BenchContext): Promise<StartedSystem>;
}

/** Generator flags shared by every system; -t is generous for 10 MB at c=200. */
const REPLY_TIMEOUT_SECONDS = 120;
const WARM_UP: LoadPoint = { connections: 10, size: '2k', sizeBytes: 2048, durationSeconds: 2 };

export async function runSmtpSystem(ctx: BenchContext, system: SmtpSystem, points: readonly LoadPoint[]): Promise<Measurement[]> {
  const names = system.e2eName ? [system.name, system.e2eName] : [system.name];
  const unmeasured = (status: 'failed' | 'skipped', note: string, from: readonly LoadPoint[]) =>
    from.flatMap((point) => names.map((name) => missingMeasurement(name, point, status, note)));

  ctx.log(`${system.name}: starting`);
  let started: StartedSystem;
  try {
    started = await system.start(ctx);
  } catch (err) {
    const status = err instanceof SkipError ? 'skipped' : 'failed';
    ctx.note(`${system.name}: ${status}: ${describeError(err)}`);
    ctx.log(`${system.name}: ${status}: ${describeError(err)}`);
    return unmeasured(status, describeError(err), points);
  }
  const rows: Measurement[] = [];
  try {
    try {
      await measurePoint(ctx, system, started, WARM_UP);
    } catch (err) {
      ctx.log(`${system.name}: warm-up failed: ${describeError(err)}`);
    }
    for (const [i, point] of points.entries()) {
      if (!started.isAlive()) {
        ctx.note(`${system.name}: the server exited during the run`);
        rows.push(...unmeasured('failed', 'server exited', points.slice(i)));
        break;
      }
      ctx.log(`${system.name}: c=${point.connections} ${point.size} ${point.durationSeconds}s`);
      try {
        const measured = await measurePoint(ctx, system, started, point);
        for (const m of measured) ctx.log(`  ${m.system}: ${m.status === 'ok' ? `${m.msgsPerSecond.toFixed(0)} msgs/s, p99 ${m.p99Ms?.toFixed(1)} ms` : m.status}${m.note ? ` (${m.note})` : ''}`);
        rows.push(...measured);
      } catch (err) {
        ctx.log(`  failed: ${describeError(err)}`);
        rows.push(...unmeasured('failed', describeError(err), [point]));
      }
      await sleep(1000);
    }
  } finally {
    await started.stop();
  }
  return rows;
}

/** One point against a started system: the accepted row, and the end-to-end row if it drains. */
export async function measurePoint(
  ctx: BenchContext,
  system: Pick<SmtpSystem, 'name' | 'e2eName'>,
  started: StartedSystem,
  point: LoadPoint,
): Promise<Measurement[]> {
  await started.beforePoint?.();
  const sampler = await startUsageSampler(started.rootPid);
  try {
    const gen = await runGenerator({
      port: started.port,
      connections: point.connections,
      size: point.size,
      seconds: point.durationSeconds,
      to: ctx.domain,
      timeoutSeconds: REPLY_TIMEOUT_SECONDS,
      perConnection: 1,
    });
    const queued = measurementFromGenerator(system.name, point, gen, await sampler.now());
    if (!started.drain || !system.e2eName) return [queued];
    const drained = await started.drain(gen.messages.ok2xx);
    const windowSeconds = (drained.drainedAtMs - Date.parse(gen.startedAt)) / 1000;
    const usage = await sampler.now();
    return [queued, endToEndMeasurement(system.e2eName, queued, drained.delivered, windowSeconds, drained.complete, drained.note, usage)];
  } finally {
    await sampler.stop();
  }
}
