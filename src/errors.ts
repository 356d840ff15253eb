// The registry of every stable error code smtpipe emits: code, what it means, where it
// shows. Codes are never renamed nor reused (operators grep them in `error` fields, logs
// and alerts). Config diagnostics keep their own module (src/config/codes.ts, which says
// what each means) and are part of this table; test/unit/errors.test.ts checks that every
// ERR_/WARN_ literal in src/ and workers/ is here and that nothing here is unused.
// workers/ use the literals (they may import only types from src/): the test covers them.

import { ConfigCode } from './config/codes.js';

export interface ErrorCodeEntry {
  /** What happened, for an operator. */
  readonly meaning: string;
  /** Where it shows: a thrown start-up error, a delivery's outcome, a log field. */
  readonly where: string;
}

const CONFIG_CODES: Readonly<Record<string, ErrorCodeEntry>> = Object.fromEntries(
  Object.entries(ConfigCode).map(([name, code]) => [
    code,
    { meaning: `configuration: ${name.toLowerCase().replaceAll('_', ' ')} (src/config/codes.ts)`, where: 'config diagnostic (smtpipe --check, start-up, reload)' },
  ]),
);

const OUTCOME = "a delivery's outcome (spawn-failed or output-failed: 451; the log line's error says why)";

/** Every code smtpipe itself emits. */
export const ERROR_CODES: Readonly<Record<string, ErrorCodeEntry>> = {
  ...CONFIG_CODES,
  ERR_POOL_SPAWNER_UNAVAILABLE: {
    meaning: 'Spawner = native, and the native spawner cannot load or fails its self-test: smtpipe does not start',
    where: 'start-up error (src/pool/pool.ts)',
  },
  ERR_SMTP_UPSTREAM_CHANGED: {
    meaning: 'the installed smtp-server lacks what src/smtp/connection.ts adapts (a method, or its reviewed source changed): smtpipe does not start',
    where: 'start-up error (src/smtp/connection.ts)',
  },
  ERR_MESSAGE_BUFFER: {
    meaning: 'bug: a buffered message does not add up to its length; the session fails rather than hand unwritten bytes to a program',
    where: 'thrown in a session (src/message/message-buffer.ts)',
  },
  ERR_MEMORY_BUDGET: {
    meaning: 'bug: more message bytes were given back to Max_Memory_In_Flight than were taken',
    where: 'thrown in a session (src/message/memory-budget.ts)',
  },
  ERR_SPOOL_REOPEN: {
    meaning: "the spool file could not be reopened read-only for the program's stdin, and no errno says why",
    where: OUTCOME,
  },
  ERR_SPOOL_UNUSABLE: {
    meaning: 'no spool file can be created in Spool_Directory (read-only, full, not permitted): smtpipe does not start (exit 78)',
    where: 'start-up error (src/ops/daemon.ts)',
  },
  ERR_ORPHAN_KILL: {
    meaning: 'SIGKILL to a process a program left behind failed without an errno',
    where: 'orphan reaper log line (src/ops/orphan-reaper.ts)',
  },
  ERR_SPAWN_INVALID_ARG: {
    meaning: 'the program could not be started: a NUL byte in its path, an argument, the environment or its directory, or unusable ids',
    where: OUTCOME,
  },
  ERR_SPAWN_UNKNOWN: {
    meaning: 'the program could not be started, and Node gave no error code',
    where: OUTCOME,
  },
  ERR_SPAWN_WRAPPER: {
    meaning: "child_process spawner: the wrapper shell that opens output files as the program's user failed in an unexpected way",
    where: OUTCOME,
  },
  ERR_OUTPUT_NOT_REGULAR: {
    meaning: 'output_file / error_file is not a regular file (a FIFO, socket or device): refused, the program does not run',
    where: OUTCOME,
  },
  ERR_OUTPUT_HARDLINKED: {
    meaning: 'output_file / error_file has more than one hard link: refused, the program does not run',
    where: OUTCOME,
  },
  ERR_OUTPUT_OPEN: {
    meaning: 'output_file / error_file could not be opened, and no errno says why',
    where: OUTCOME,
  },
  ERR_PROGRAM_STDIN: {
    meaning: "writing the message to the program's stdin failed without an errno (the exit status still decides the reply)",
    where: 'delivery log field stdinError',
  },
  ERR_PROGRAM_KILL: {
    meaning: "a signal to the program's process group failed without an errno",
    where: 'delivery log field killFailures ("SIGKILL ERR_PROGRAM_KILL")',
  },
};

/**
 * Node's own codes that smtpipe reads (compares against) but never emits: kept apart so the
 * scan can tell a foreign code read from a code of ours that is missing above.
 */
export const FOREIGN_CODES: Readonly<Record<string, string>> = {
  ERR_STREAM_PREMATURE_CLOSE: "Node's stream code: stdin closed by the program's exit (workers/run-program.ts reports EPIPE)",
  ERR_INVALID_ARG_VALUE: "Node's spawn() refusing a NUL byte (workers/spawners/child-process.ts reports ERR_SPAWN_INVALID_ARG)",
};
