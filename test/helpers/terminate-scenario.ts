// For spawner-terminate.test.ts, which runs it in a process of its own: the real deliver.js
// in a Piscina pool, programs (each with a grandchild) in flight, then pool.destroy(), which
// is worker.terminate(). A process of its own because an abort must not take the test runner
// down, and because child_process leaves zombies behind here (nodejs/node#46569) that only
// the end of that process clears. Importing this module does nothing by itself.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Piscina } from 'piscina';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import type { PoolWorkerData } from '../../src/pool/task.js';
import type { DeliveryTask, ProgramOutcome } from '../../src/pool/task.js';
import { fixture, repoRoot } from './paths.js';
import { childrenOfThisProcess, procStat } from './processes.js';
import { inMemory, makeTask } from './task.js';

export interface TerminateReport {
  /** How each pool.run() settled. */
  readonly settled: readonly string[];
  /** Our children (zombies included) once things had 3 s to settle. */
  readonly children: readonly string[];
  /** Programs and grandchildren still running then. */
  readonly alive: readonly number[];
}

const PROGRAMS = 6;

export async function runTerminateScenario(spawner: PoolWorkerData['spawner'], dir: string): Promise<TerminateReport> {
  closeLeakingFds();
  const pool = new Piscina<DeliveryTask, ProgramOutcome>({
    filename: path.join(repoRoot, 'dist', 'workers', 'deliver.js'),
    minThreads: 2,
    maxThreads: 2,
    concurrentTasksPerWorker: PROGRAMS,
    atomics: 'disabled',
    workerData: { spawner } satisfies Partial<PoolWorkerData>,
  });
  const pidFiles = Array.from({ length: PROGRAMS }, (_, i) => path.join(dir, `family-${i}`));
  const runs = pidFiles.map((pidFile) =>
    pool.run(task(pidFile)).then(
      (outcome) => `resolved ${outcome.kind}`,
      () => 'rejected',
    ),
  );
  await until(() => pidFiles.every((file) => existsSync(file)), 10_000);
  const pids = pidFiles.flatMap((file) => readFileSync(file, 'latin1').trim().split(' ').map(Number));
  await pool.destroy();
  const settled = await Promise.all(runs);
  const isAlive = (pid: number): boolean => /^[RSD]$/.test(procStat(pid)?.state ?? 'gone');
  await until(() => childrenOfThisProcess().length === 0 && !pids.some(isAlive), 3_000).catch(() => undefined);
  const report = { settled, children: childrenOfThisProcess(), alive: pids.filter(isAlive) };
  // Leave nothing running after the test, whatever the spawner did.
  for (const pid of report.alive) process.kill(pid, 'SIGKILL');
  return report;
}

function task(pidFile: string): DeliveryTask {
  return makeTask({ program: fixture('programs', 'family.sh'), args: [pidFile, '30'], message: inMemory(''), timeoutMs: 60_000 });
}

/** Polls: there is no event for "a file appeared" or "a process is gone". */
async function until(predicate: () => boolean, deadlineMs: number): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`condition not met within ${deadlineMs} ms`);
    await sleep(20);
  }
}
