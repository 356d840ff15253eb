// Turns a generator result and /proc figures into a Measurement, and records what could not
// be measured. Pure: the judgement of "did this point work" lives here, in one place.

import type { GeneratorResult } from './generator.js';
import type { LoadPoint, Measurement, ServerUsage, Status } from './types.js';

export function measurementFromGenerator(system: string, point: LoadPoint, gen: GeneratorResult, usage: ServerUsage | null): Measurement {
  const { ok2xx, fail4xx, fail5xx, sent } = gen.messages;
  const errors = gen.errors + gen.timeouts + gen.resets;
  const seconds = gen.durationSeconds > 0 ? gen.durationSeconds : point.durationSeconds;
  const msgsPerSecond = ok2xx / seconds;
  const problems = [fail4xx && `${fail4xx} 4xx`, fail5xx && `${fail5xx} 5xx`, gen.errors && `${gen.errors} errors`, gen.timeouts && `${gen.timeouts} timeouts`, gen.resets && `${gen.resets} resets`]
    .filter(Boolean)
    .join(', ');
  return {
    system,
    point,
    status: ok2xx > 0 ? 'ok' : 'failed',
    note: ok2xx > 0 ? problems || null : `no 2xx reply${problems ? ` (${problems})` : ''}`,
    msgsPerSecond,
    bytesPerSecond: msgsPerSecond * point.sizeBytes,
    p50Ms: ok2xx > 0 ? gen.latencyMs.p50 : null,
    p99Ms: ok2xx > 0 ? gen.latencyMs.p99 : null,
    sent,
    ok2xx,
    fail4xx,
    fail5xx,
    errors,
    windowSeconds: seconds,
    usage,
  };
}

/** End to end: `delivered` messages over the window from the generator's start to the drain. */
export function endToEndMeasurement(
  system: string,
  queued: Measurement,
  delivered: number,
  windowSeconds: number,
  complete: boolean,
  note: string | null,
  usage: ServerUsage | null,
): Measurement {
  const msgsPerSecond = windowSeconds > 0 ? delivered / windowSeconds : 0;
  return {
    ...queued,
    system,
    status: complete && delivered > 0 ? 'ok' : 'failed',
    note: note ?? (complete ? `${delivered} delivered in ${windowSeconds.toFixed(1)} s` : `${delivered} of ${queued.ok2xx} delivered`),
    msgsPerSecond,
    bytesPerSecond: msgsPerSecond * queued.point.sizeBytes,
    windowSeconds,
    usage,
  };
}

/** A row for a point that produced nothing: the system was skipped or the run failed. */
export function missingMeasurement(system: string, point: LoadPoint, status: Exclude<Status, 'ok'>, note: string): Measurement {
  return {
    system,
    point,
    status,
    note,
    msgsPerSecond: 0,
    bytesPerSecond: 0,
    p50Ms: null,
    p99Ms: null,
    sent: 0,
    ok2xx: 0,
    fail4xx: 0,
    fail5xx: 0,
    errors: 0,
    windowSeconds: 0,
    usage: null,
  };
}
