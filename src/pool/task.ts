// What crosses the thread boundary between the dispatcher and workers/deliver.ts:
// plain data only (structured clone), the message as a transferred ArrayBuffer.

import type { BareNewlinePolicy, LineEnding, RunAs } from '../config/types.js';

export interface DeliveryTask {
  /** argv[0]: run directly, never through a shell. */
  readonly program: string;
  /** argv[1..], macros already expanded. */
  readonly args: readonly string[];
  /** The whole environment of the program (clean: nothing inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Trace headers to prepend, already in the transport's line ending ('' for none). */
  readonly header: string;
  /** The message as received on the wire: dot-unstuffed, CRLF line endings. Transferred. */
  readonly message: ArrayBuffer;
  /** Line ending the program gets; 'lf' converts CRLF -> LF in the worker. */
  readonly eol: LineEnding;
  /** A bare CR or LF in the message: refuse it, or make it a line ending. */
  readonly bareNewlines: BareNewlinePolicy;
  readonly timeoutMs: number;
  /** After SIGTERM on timeout, how long before SIGKILL. */
  readonly killGraceMs: number;
  /** null = /dev/null. Opened for append, created with the mode. */
  readonly outputFile: string | null;
  readonly outputMode: number;
  readonly errorFile: string | null;
  readonly errorMode: number;
  /** uid and gid the program runs under, without supplementary groups; null = the daemon's. */
  readonly runAs: RunAs | null;
  /** The program's working directory; null = the daemon's. */
  readonly cwd: string | null;
  /** The program's umask; null = the daemon's. */
  readonly umask: number | null;
}

/**
 * Group kills of a run that reached no process, as "SIGNAL CODE" ("SIGTERM EPERM": a
 * setuid program changed the uid of everything left in the group). Logged as a warning;
 * they never change the reply.
 */
export type KillFailures = readonly string[];

/** How one program run ended. Operational outcomes are values, never thrown. */
export type ProgramOutcome =
  | {
      readonly kind: 'exited';
      readonly pid: number;
      readonly exitCode: number;
      readonly durationMs: number;
      /** The program closed stdin early (EPIPE): logged, the exit status still decides. */
      readonly stdinError: string | null;
      readonly killFailures: KillFailures;
    }
  | {
      readonly kind: 'signaled';
      readonly pid: number;
      readonly signal: string;
      readonly durationMs: number;
      readonly killFailures: KillFailures;
    }
  | {
      readonly kind: 'timed-out';
      readonly pid: number;
      readonly timeoutMs: number;
      /** The signal that finally ended it (SIGTERM, or SIGKILL after the grace); null if it exited. */
      readonly signal: string | null;
      readonly durationMs: number;
      readonly killFailures: KillFailures;
    }
  | {
      readonly kind: 'spawn-failed';
      /** errno code: ENOENT, EACCES, ... */
      readonly errorCode: string;
      readonly message: string;
      readonly durationMs: number;
    }
  | {
      /** Bare CR or LF in the content under Bare_Newlines = reject: no program started. */
      readonly kind: 'content-rejected';
      readonly reason: 'bare-newline';
      readonly durationMs: number;
    }
  | {
      readonly kind: 'output-failed';
      /** output_file or error_file could not be opened: the program was not started. */
      readonly path: string;
      readonly errorCode: string;
      readonly message: string;
      readonly durationMs: number;
    };
