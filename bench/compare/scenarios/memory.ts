// The memory scenario: smtpipe's small-message throughput while 200 large messages sit in
// flight (held by a second transport whose program sleeps without reading), against the
// same daemon without them. With a fork-based spawner every spawn copies the page tables
// of the held memory; the ratio shows whether throughput survives it.

import { startGenerator, type RunningGenerator } from '../generator.js';
import { countInTree } from '../measure.js';
import { SYSTEM } from '../names.js';
import { sleep } from '../processes.js';
import type { MemoryResult } from '../types.js';
import { describeError, SkipError, type BenchContext } from './context.js';
import { measurePoint, type StartedSystem } from './smtp-matrix.js';
import { startSmtpipe, type SpawnerChoice } from './smtpipe.js';

/** How long each held program sleeps: longer than waiting for all of them plus the run. */
const HOLD_SECONDS = 120;
const HOLD_WAIT_MS = 60_000;

export async function runMemoryScenario(ctx: BenchContext, spawner: SpawnerChoice | null): Promise<MemoryResult> {
  const system = SYSTEM.smtpipe(spawner ?? 'child_process');
  const { point, heldMessages, heldSize, heldSizeBytes } = ctx.plan.memory;
  const holdDomain = `hold.${ctx.domain}`;
  const result = (partial: Partial<MemoryResult> & Pick<MemoryResult, 'status' | 'note'>): MemoryResult => ({
    system,
    heldMessages,
    heldBytes: heldMessages * heldSizeBytes,
    baseline: null,
    loaded: null,
    ratio: null,
    ...partial,
  });

  ctx.log(`memory scenario, ${system}: starting`);
  let started: StartedSystem;
  try {
    started = await startSmtpipe(ctx, system, {
      spawner,
      slow: { domain: holdDomain, program: `/bin/sleep ${HOLD_SECONDS}`, concurrency: heldMessages },
    });
  } catch (err) {
    const status = err instanceof SkipError ? 'skipped' : 'failed';
    ctx.note(`memory scenario, ${system}: ${status}: ${describeError(err)}`);
    return result({ status, note: describeError(err) });
  }
  let held: RunningGenerator | null = null;
  try {
    await measurePoint(ctx, { name: system }, started, { ...point, durationSeconds: 2 }); // warm-up
    ctx.log(`memory scenario, ${system}: without held messages, c=${point.connections} ${point.size} ${point.durationSeconds}s`);
    const [baseline] = await measurePoint(ctx, { name: system }, started, point);
    if (!baseline || baseline.status !== 'ok') return result({ status: 'failed', note: `baseline run failed: ${baseline?.note ?? ''}`, baseline: baseline ?? null });

    held = startGenerator({
      port: started.port,
      connections: heldMessages,
      amount: heldMessages,
      size: heldSize,
      to: holdDomain,
      timeoutSeconds: HOLD_SECONDS + 60,
      perConnection: 1,
    });
    held.result.catch(() => undefined); // killed at the end by design
    const deadline = Date.now() + HOLD_WAIT_MS;
    let sleeping = 0;
    while ((sleeping = await countInTree(started.rootPid, 'sleep')) < heldMessages && Date.now() < deadline) await sleep(250);
    if (sleeping < heldMessages) {
      return result({ status: 'failed', note: `only ${sleeping} of ${heldMessages} held programs running after ${HOLD_WAIT_MS / 1000} s`, baseline });
    }
    ctx.log(`memory scenario, ${system}: ${sleeping} x ${heldSize} held; c=${point.connections} ${point.size} ${point.durationSeconds}s`);
    const [loaded] = await measurePoint(ctx, { name: system }, started, point);
    if (!loaded || loaded.status !== 'ok') return result({ status: 'failed', note: `run with held messages failed: ${loaded?.note ?? ''}`, baseline, loaded: loaded ?? null });
    const ratio = loaded.msgsPerSecond / baseline.msgsPerSecond;
    ctx.log(`  ${baseline.msgsPerSecond.toFixed(0)} -> ${loaded.msgsPerSecond.toFixed(0)} msgs/s, ratio ${ratio.toFixed(2)}`);
    return result({ status: 'ok', note: null, baseline, loaded, ratio });
  } catch (err) {
    ctx.note(`memory scenario, ${system}: failed: ${describeError(err)}`);
    return result({ status: 'failed', note: describeError(err) });
  } finally {
    // The daemon first, while the held clients are still connected: they get their 451.
    await started.stop();
    held?.kill();
  }
}
