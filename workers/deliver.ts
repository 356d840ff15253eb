// The Piscina entry: one DeliveryTask in, one ProgramOutcome (plain data) out. Owns the
// per-run output_file / error_file handles and the message's line endings; leaves the
// run itself to run-program.ts. Never throws for operational failures, only for bugs.

import { open, type FileHandle } from 'node:fs/promises';
import { workerData } from 'node:worker_threads';
import type { PoolWorkerData } from '../src/pool/pool.js';
import type { DeliveryTask, ProgramOutcome } from '../src/pool/task.js';
import { createKillSwitch } from './kill-switch.js';
import { toLineEnding } from './line-endings.js';
import { bestScans } from './native-line-endings.js';
import { runProgram } from './run-program.js';
import { errorCode } from './spawners/contract.js';
import { useSpawner } from './spawners/select.js';

// This thread's state: created once when Piscina loads the worker.
const poolData = workerData as PoolWorkerData | null;
const killSignal = createKillSwitch(poolData?.killChannel);
// Chosen by the pool on the main thread; outside a pool the caller picks (select.ts).
if (poolData?.spawner !== undefined) useSpawner(poolData.spawner);
const lineEndingScans = bestScans();

export default async function deliver(task: DeliveryTask): Promise<ProgramOutcome> {
  const startedAt = performance.now();
  const outputs = await openOutputs(task);
  if (!outputs.ok) {
    const { path, errorCode: code, message } = outputs;
    return { kind: 'output-failed', path, errorCode: code, message, durationMs: performance.now() - startedAt };
  }
  const body = toLineEnding(new Uint8Array(task.message), task.eol, task.bareNewlines, lineEndingScans);
  if (body === null) {
    await Promise.all([closeQuietly(outputs.stdout), closeQuietly(outputs.stderr)]);
    return { kind: 'content-rejected', reason: 'bare-newline', durationMs: performance.now() - startedAt };
  }
  try {
    return await runProgram({
      file: task.program,
      args: task.args,
      env: task.env,
      stdoutFd: outputs.stdout?.fd ?? null,
      stderrFd: outputs.stderr?.fd ?? null,
      runAs: task.runAs,
      cwd: task.cwd,
      umask: task.umask,
      header: task.header,
      body,
      timeoutMs: task.timeoutMs,
      killGraceMs: task.killGraceMs,
      killSignal,
    });
  } finally {
    // Only after the program is reaped; the program wrote through its own dup of each fd.
    await Promise.all([closeQuietly(outputs.stdout), closeQuietly(outputs.stderr)]);
  }
}

type Outputs =
  | { readonly ok: true; readonly stdout: FileHandle | null; readonly stderr: FileHandle | null }
  | { readonly ok: false; readonly path: string; readonly errorCode: string; readonly message: string };

/**
 * Opens output_file and error_file for append, created with their modes (minus the
 * umask; an existing file keeps its mode). Opened per run, so a file removed by log
 * rotation is recreated by the next delivery.
 */
async function openOutputs(task: DeliveryTask): Promise<Outputs> {
  let stdout: FileHandle | null = null;
  try {
    stdout = task.outputFile === null ? null : await open(task.outputFile, 'a', task.outputMode);
  } catch (err) {
    return openFailure(task.outputFile ?? '', err);
  }
  try {
    const stderr = task.errorFile === null ? null : await open(task.errorFile, 'a', task.errorMode);
    return { ok: true, stdout, stderr };
  } catch (err) {
    await closeQuietly(stdout);
    return openFailure(task.errorFile ?? '', err);
  }
}

function openFailure(path: string, err: unknown): Outputs {
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, path, errorCode: errorCode(err) ?? 'ERR_OUTPUT_OPEN', message };
}

async function closeQuietly(handle: FileHandle | null): Promise<void> {
  if (handle === null) return;
  try {
    await handle.close();
  } catch {
    // Handled by ignoring: on Linux the fd is released even when close() reports an error,
    // and the program's output went through its own fd, so nothing of the run is lost.
  }
}
