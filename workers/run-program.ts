// Owns the policy of one program run: feed stdin, enforce the timeout (SIGTERM, then
// SIGKILL after the grace), wait until the program is reaped, then kill what it left in
// its process group. Must not open files or start processes itself (workers/spawners/ does,
// output_file and error_file included: in the program's identity, never as the daemon).
//
// States: spawning -> running -> (timeout: terminating -> killing) -> reaped -> group killed.
// The run never ends before the program is reaped, so no zombie outlives a task.

import type { FileHandle } from 'node:fs/promises';
import { finished, pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { ProgramOutcome } from '../src/pool/task.js';
import { captureOutput, type Capture } from './output-capture.js';
import { errorCode, type ProgramSpec, type Spawner, type StartFailure } from './spawners/contract.js';

export interface RunSpec extends ProgramSpec {
  /**
   * The bytes written to the program's stdin pipe, exactly; null when stdinFile is its
   * stdin (then nothing is written, and stdinError is always null).
   */
  readonly body: Uint8Array | null;
  /** Written to the stdin pipe before `body` or `tail` (LMTP: this run's trace headers). */
  readonly head?: Uint8Array | null;
  /** A spooled message copied into the stdin pipe after `head`, from offset 0 to its end. */
  readonly tail?: FileHandle;
  readonly timeoutMs: number;
  /** After SIGTERM on timeout, how long before SIGKILL. */
  readonly killGraceMs: number;
  /** Aborted on a forced shutdown: the group gets SIGKILL at once. */
  readonly killSignal?: AbortSignal;
  /** The stream searched for a status line on a non-zero exit (it must be captured). */
  readonly replyFromOutput: 'none' | 'stdout' | 'stderr';
}

/** Every outcome a run can have (pool-busy and pool-failed come from the pool). */
export type RunOutcome = Exclude<ProgramOutcome, { kind: 'pool-busy' | 'pool-failed' }>;

/**
 * Runs the program once. Operational failures are outcomes; only bugs throw.
 *
 * Contract for programs: when the program exits (whatever the outcome) its whole process
 * group is SIGKILLed, so background children die with it. What left the group (setsid) is
 * not this module's: the daemon, a child subreaper, ends it (src/ops/orphan-reaper.ts).
 */
export async function runProgram(spawner: Spawner, spec: RunSpec): Promise<RunOutcome> {
  const started = await spawner.startProgram(spec);
  if (!started.ok) return startFailed(spec, started);
  const { program } = started;
  const { pid } = program;
  // Read while the program runs (a full pipe would block it), in bounded memory.
  const outCapture = program.stdout === null ? null : captureOutput(program.stdout, { scan: spec.replyFromOutput === 'stdout', keepTail: false });
  const errCapture = program.stderr === null ? null : captureOutput(program.stderr, { scan: spec.replyFromOutput === 'stderr', keepTail: true });

  // A kill that reaches nobody (EPERM: a setuid program changed the uid of what is left
  // in the group) is recorded, never thrown: these run in timer callbacks, where a throw
  // would end the worker thread and fail every delivery running on it.
  const killFailures: string[] = [];
  const kill = (signal: NodeJS.Signals): void => {
    const failure = program.killGroup(signal);
    if (failure !== null) killFailures.push(`${signal} ${failure}`);
  };
  let timedOut = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    kill('SIGTERM');
    graceTimer = setTimeout(() => kill('SIGKILL'), spec.killGraceMs);
  }, spec.timeoutMs);

  const killNow = () => kill('SIGKILL');
  if (spec.killSignal?.aborted) killNow();
  spec.killSignal?.addEventListener('abort', killNow, { once: true });

  const stdinResult =
    program.stdin === null
      ? Promise.resolve(null)
      : spec.tail === undefined
        ? feedStdin(program.stdin, spec.head ? [spec.head, spec.body ?? EMPTY] : [spec.body ?? EMPTY])
        : feedStdinFromFile(program.stdin, spec.head ?? EMPTY, spec.tail);
  let exit;
  try {
    exit = await program.exited;
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(graceTimer);
    spec.killSignal?.removeEventListener('abort', killNow);
  }
  // Reap the rest of the group: a grandchild must not keep running (or keep our files and
  // the program's stdin open) after the reply has been decided. The native spawner did it
  // before the reap and reports how it went; this one is then a no-op.
  if (exit.killFailure !== null) killFailures.push(`SIGKILL ${exit.killFailure}`);
  kill('SIGKILL');
  // Settles at once: Node destroys stdin when the program exits.
  const stdinError = await stdinResult;
  await finishCaptures([outCapture, errCapture]);
  const stderrTail = errCapture?.tail() ?? null;
  const statusCapture = spec.replyFromOutput === 'stdout' ? outCapture : spec.replyFromOutput === 'stderr' ? errCapture : null;

  // child_process's wrapper shell refused an output and exited: the program never ran.
  if (exit.startFailure !== undefined) return startFailed(spec, exit.startFailure);
  // The exit decides, whatever the kills did: a program that exited 0 gets its 250 even if
  // what it left behind could not be signalled (a 451 would make the client send again).
  if (timedOut) {
    return { kind: 'timed-out', pid, signal: exit.signal, killFailures, stderrTail };
  }
  if (exit.signal !== null) {
    return { kind: 'signaled', pid, signal: exit.signal, killFailures, stderrTail };
  }
  if (exit.exitCode === null) throw new Error('bug: exit without exitCode nor signal');
  const failed = exit.exitCode !== 0;
  return {
    kind: 'exited',
    pid,
    exitCode: exit.exitCode,
    stdinError,
    killFailures,
    statusLine: failed ? (statusCapture?.statusLine() ?? null) : null,
    // A successful run's stderr is not the log line's business.
    stderrTail: failed ? stderrTail : null,
  };
}

/**
 * What the program wrote before it exited is in the pipes already: wait for their end, but
 * only CAPTURE_DRAIN_MS more, in case an escaped grandchild holds one open.
 */
async function finishCaptures(captures: ReadonlyArray<Capture | null>): Promise<void> {
  const live = captures.filter((c): c is Capture => c !== null);
  for (const capture of live) capture.drain();
  await Promise.all(live.map((c) => c.done));
}

/**
 * spawn-failed, or output-failed when opening output_file / error_file was what failed:
 * then the message names the option and the path ("output_file /x: is a symbolic link").
 */
function startFailed(spec: ProgramSpec, failure: StartFailure): RunOutcome {
  const { errorCode: code, message, output } = failure;
  if (output === undefined) return { kind: 'spawn-failed', errorCode: code, message };
  const path = spec[output]?.path ?? '';
  const option = output === 'stdout' ? 'output_file' : 'error_file';
  return { kind: 'output-failed', errorCode: code, message: `${option} ${path}: ${message}` };
}

const EMPTY = new Uint8Array(0);

/**
 * Writes the body and ends stdin. Resolves with null once every byte was handed to
 * the kernel, or with the error code if the program stopped reading first (the exit
 * status still decides, as in Postfix pipe(8)); a program that exits without reading a
 * message small enough for the socket buffer therefore gets null, as there. Never rejects.
 *
 * No 'drain' loop: the whole message already lives in memory and the stream keeps a
 * reference, not a copy; finished() settles on completion, error or destroy.
 */
async function feedStdin(stdin: Writable, chunks: readonly Uint8Array[]): Promise<string | null> {
  // The write's callback runs once the kernel took the bytes. Not after a destroy: Node
  // then calls an in-flight write's callback without error (the program exited while a
  // grandchild held stdin, unread). Writes complete in order: the last one's callback says.
  const body = chunks.filter((chunk) => chunk.byteLength > 0);
  let allWritten = body.length === 0;
  body.forEach((chunk, i) => {
    if (i < body.length - 1) stdin.write(chunk);
    else stdin.write(chunk, (err) => (allWritten = err == null && !stdin.destroyed));
  });
  stdin.end();
  let failure: string | null = null;
  try {
    await finished(stdin, { readable: false });
  } catch (err) {
    failure = errorCode(err) ?? 'ERR_PROGRAM_STDIN';
  }
  // Only our end-of-file (the shutdown) may have been pending: nothing was lost.
  if (allWritten) return null;
  // Node destroys stdin when the program exits, and then reports success (or a premature
  // close) for writes still in flight. Whether the write saw EPIPE first or the exit came
  // first is a race between two effects of one cause: the program exited without reading
  // its input. Same report.
  return failure === null || failure === 'ERR_STREAM_PREMATURE_CLOSE' ? 'EPIPE' : failure;
}

/**
 * `head`, then the file from offset 0 to its end, then end-of-file; the same report as
 * feedStdin. The file is read a chunk at a time (the pipe's pace): a spooled message is
 * never held in memory whole. Never rejects.
 */
async function feedStdinFromFile(stdin: Writable, head: Uint8Array, tail: FileHandle): Promise<string | null> {
  try {
    if (head.byteLength > 0) stdin.write(head);
    await pipeline(tail.createReadStream({ start: 0, autoClose: false }), stdin);
    return null;
  } catch (err) {
    // Node's stream errors (a premature close, a write after the destroy at exit) mean
    // the same as EPIPE here: the program exited without reading all of its input.
    const failure = errorCode(err);
    return failure === undefined || /^ERR_STREAM_/.test(failure) ? 'EPIPE' : failure;
  }
}
