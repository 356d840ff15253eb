// The Piscina entry: one DeliveryTask in, one ProgramOutcome (plain data) out. Owns the
// thread's state (spawner, kill switch), created once from workerData as the worker loads,
// and how the message reaches the program's stdin: the bytes through a pipe, or a spool
// file as stdin itself (spool-stdin.ts). Leaves the run, and the opening of output_file /
// error_file in the program's identity, to run-program.ts and the spawners. Rewrites no
// byte of the message (the main thread did, src/message/). Never throws for operational
// failures, only for bugs.

import { workerData } from 'node:worker_threads';
import type { DeliveryTask, PoolWorkerData, ProgramOutcome } from '../src/pool/task.js';
import { createKillSwitch } from './kill-switch.js';
import { runProgram, type RunSpec } from './run-program.js';
import { runWithSpoolPipe, runWithSpoolStdin } from './spool-stdin.js';
import { createSpawner } from './spawners/select.js';

export type Deliver = (task: DeliveryTask) => Promise<ProgramOutcome>;

/**
 * One thread's delivery function. Piscina's threads get theirs from workerData (below);
 * outside a pool (tests, tools) `null` means child_process and no kill channel.
 */
export function createDeliver(data: Partial<PoolWorkerData> | null): Deliver {
  const spawner = createSpawner(data?.spawner ?? 'child_process');
  const killSignal = createKillSwitch(data?.killChannel);
  return async (task) => {
    // Here, not in the pool: the task may wait in Piscina's queue for a thread too.
    const startedAt = performance.now();
    const outcome = await runTask(task);
    return { ...outcome, runMs: performance.now() - startedAt };
  };

  function runTask(task: DeliveryTask): Promise<ProgramOutcome> {
    const spec: Omit<RunSpec, 'stdinFile' | 'body' | 'head' | 'tail'> = {
      file: task.program,
      args: task.args,
      env: task.env,
      // Opened by the spawner for each run, as the program (log rotation recreates them).
      stdout: task.outputFile === null ? null : { path: task.outputFile, mode: task.outputMode },
      stderr: task.errorFile === null ? null : { path: task.errorFile, mode: task.errorMode },
      runAs: task.runAs,
      cwd: task.cwd,
      umask: task.umask,
      timeoutMs: task.timeoutMs,
      killGraceMs: task.killGraceMs,
      killSignal,
      // stderr is read whenever it has no file (its tail goes into the delivery line);
      // stdout only for reply_from_output (the config refuses it together with output_file).
      capture: { stdout: task.replyFromOutput === 'stdout' && task.outputFile === null, stderr: task.errorFile === null },
      replyFromOutput: task.replyFromOutput,
    };
    const { message } = task;
    // LMTP: this run's trace headers, before a message that several runs share.
    const head = message.header ? Buffer.from(message.header, 'utf8') : null;
    if (message.kind === 'bytes') {
      return runProgram(spawner, { ...spec, stdinFile: null, head, body: new Uint8Array(message.bytes) });
    }
    if (head !== null) {
      return runWithSpoolPipe(message.fd, (tail) => runProgram(spawner, { ...spec, stdinFile: null, head, body: null, tail }));
    }
    return runWithSpoolStdin(spawner, message.fd, (closing, stdinFile) =>
      runProgram(closing, { ...spec, stdinFile, body: null }),
    );
  }
}

// This thread's state: created once, when Piscina loads the worker (piscina's model).
export default createDeliver(workerData as PoolWorkerData | null);
