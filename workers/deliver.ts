// The Piscina entry: one DeliveryTask in, one ProgramOutcome (plain data) out. Owns the
// thread's state (spawner, kill switch, line-ending scans), created once from workerData
// as the worker loads, and the message's line endings; leaves the run, and the opening of
// output_file / error_file in the program's identity, to run-program.ts and the spawners.
// Never opens a file itself, never throws for operational failures, only for bugs.

import { workerData } from 'node:worker_threads';
import { loadLineEndingsAddon } from '../native/addons.js';
import type { DeliveryTask, PoolWorkerData, ProgramOutcome } from '../src/pool/task.js';
import { createKillSwitch } from './kill-switch.js';
import { javascriptScans, toLineEnding } from './line-endings.js';
import { runProgram } from './run-program.js';
import { createSpawner } from './spawners/select.js';

export type Deliver = (task: DeliveryTask) => Promise<ProgramOutcome>;

/**
 * One thread's delivery function. Piscina's threads get theirs from workerData (below);
 * outside a pool (tests, tools) `null` means child_process and no kill channel.
 */
export function createDeliver(data: Partial<PoolWorkerData> | null): Deliver {
  const spawner = createSpawner(data?.spawner ?? 'child_process');
  const killSignal = createKillSwitch(data?.killChannel);
  // The C scans when they load here (the pool's start-up log said whether they do).
  const native = loadLineEndingsAddon();
  const scans = native.ok ? native.addon : javascriptScans;
  return async (task) => {
    const body = toLineEnding(new Uint8Array(task.message), task.eol, task.bareNewlines, scans);
    if (body === null) return { kind: 'content-rejected' };
    return runProgram(spawner, {
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
  };
}

// This thread's state: created once, when Piscina loads the worker (piscina's model).
export default createDeliver(workerData as PoolWorkerData | null);
