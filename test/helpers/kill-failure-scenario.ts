// For kill-failures.test.ts, which runs it in a process of its own as an unprivileged user:
// the real deliver.js in a one-thread Piscina pool, an ordinary delivery in flight while a
// setuid-root program on the same thread times out (every kill of its group fails with
// EPERM), then a program that exits 0 leaving a setuid-root child in its group. Importing
// this module does nothing by itself.
import path from 'node:path';
import { Piscina } from 'piscina';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import type { PoolWorkerData } from '../../src/pool/task.js';
import type { DeliveryTask, ProgramOutcome } from '../../src/pool/task.js';
import { fixture, repoRoot } from './paths.js';
import { inMemory, makeTask, transferListOf } from './task.js';

export interface KillFailureReport {
  /** sleep.sh 1, started first: must end as if nothing else happened. */
  readonly ordinary: ProgramOutcome | string;
  /** The setuid-root program itself, with a 300 ms timeout. */
  readonly timedOut: ProgramOutcome | string;
  /** How long that run took, measured here. */
  readonly timedOutMs: number;
  /** leave-setuid-child.sh: exits 0 while its setuid-root child stays in the group. */
  readonly leftChild: ProgramOutcome | string;
  /** What the pool reported as 'error' (a worker that died outside a task). */
  readonly poolErrors: readonly string[];
}

/** `setuidHelper` is the compiled setuid-root-sleep.c; `dir` is writable by this process. */
export async function runKillFailureScenario(
  spawner: PoolWorkerData['spawner'],
  setuidHelper: string,
  dir: string,
): Promise<KillFailureReport> {
  closeLeakingFds();
  const pool = new Piscina<DeliveryTask, ProgramOutcome>({
    filename: path.join(repoRoot, 'dist', 'workers', 'deliver.js'),
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: 4,
    atomics: 'disabled',
    workerData: { spawner } satisfies Partial<PoolWorkerData>,
  });
  const poolErrors: string[] = [];
  pool.on('error', (error: unknown) => poolErrors.push(String(error)));
  const run = (task: DeliveryTask) =>
    pool.run(task, { transferList: transferListOf(task) }).catch((error: unknown) => `rejected: ${String(error)}`);

  const ordinary = run(makeTask({ program: fixture('programs', 'sleep.sh'), args: ['1'], message: inMemory('') }));
  const startedAt = performance.now();
  const timedOut = run(makeTask({ program: setuidHelper, args: ['1500'], message: inMemory(''), timeoutMs: 300, killGraceMs: 200 }));
  let timedOutMs = 0;
  void timedOut.then(() => (timedOutMs = performance.now() - startedAt));
  const [ordinaryOutcome, timedOutOutcome] = await Promise.all([ordinary, timedOut]);
  const leftChild = await run(
    makeTask({
      program: fixture('programs', 'leave-setuid-child.sh'),
      args: [setuidHelper, path.join(dir, 'root-child-ready'), '1000'],
      message: inMemory(''),
    }),
  );
  await pool.close();
  return { ordinary: ordinaryOutcome, timedOut: timedOutOutcome, timedOutMs, leftChild, poolErrors };
}
