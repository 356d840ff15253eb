// The Piscina entry: one DeliveryTask in, one ProgramOutcome (plain data) out. Owns the
// message's line endings; leaves the run, and the opening of output_file / error_file
// in the program's identity, to run-program.ts and the spawners. Never opens a file
// itself, never throws for operational failures, only for bugs.

import { workerData } from 'node:worker_threads';
import type { PoolWorkerData } from '../src/pool/pool.js';
import type { DeliveryTask, ProgramOutcome } from '../src/pool/task.js';
import { createKillSwitch } from './kill-switch.js';
import { toLineEnding } from './line-endings.js';
import { bestScans } from './native-line-endings.js';
import { runProgram } from './run-program.js';
import { useSpawner } from './spawners/select.js';

// This thread's state: created once when Piscina loads the worker.
const poolData = workerData as PoolWorkerData | null;
const killSignal = createKillSwitch(poolData?.killChannel);
// Chosen by the pool on the main thread; outside a pool the caller picks (select.ts).
if (poolData?.spawner !== undefined) useSpawner(poolData.spawner);
const lineEndingScans = bestScans();

export default async function deliver(task: DeliveryTask): Promise<ProgramOutcome> {
  const startedAt = performance.now();
  const body = toLineEnding(new Uint8Array(task.message), task.eol, task.bareNewlines, lineEndingScans);
  if (body === null) {
    return { kind: 'content-rejected', reason: 'bare-newline', durationMs: performance.now() - startedAt };
  }
  return runProgram({
    file: task.program,
    args: task.args,
    env: task.env,
    // Opened by the spawner for each run, as the program (log rotation recreates them).
    stdout: task.outputFile === null ? null : { path: task.outputFile, mode: task.outputMode },
    stderr: task.errorFile === null ? null : { path: task.errorFile, mode: task.errorMode },
    runAs: task.runAs,
    cwd: task.cwd,
    umask: task.umask,
    header: task.header,
    body,
    timeoutMs: task.timeoutMs,
    killGraceMs: task.killGraceMs,
    killSignal,
  });
}
