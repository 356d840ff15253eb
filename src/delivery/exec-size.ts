// What execve(2) will count for a program's argv and environment, kept per transaction
// so that RCPT can refuse (452) a recipient the kernel would refuse (E2BIG) at spawn.
// Pure: sizes only, from the same expansion the dispatcher uses; no limits are read.

import type { TransportConfig } from '../config/types.js';
import { expandArguments, programEnvironment, type Envelope } from './envelope.js';

/**
 * Linux (fs/exec.c, bprm_stack_limits) counts every argv and envp string with its NUL
 * plus one pointer per string against max(RLIMIT_STACK / 4, ARG_MAX). ARG_MAX, 32 pages
 * = 128 KiB, is the floor whatever the stack limit, so a budget under it holds on every
 * machine. One string may hold at most MAX_ARG_STRLEN = 128 KiB with its NUL; a whole
 * under the budget cannot break that either.
 */
export const EXEC_ARG_MAX_BYTES = 128 * 1024;
/**
 * Kept free for what is copied besides our argv and envp: the path execve is given
 * (bprm->filename, up to PATH_MAX 4096), a script's `#!` interpreter and its argument,
 * and the `/bin/sh -c` umask wrapper of the child_process spawner.
 */
const RESERVE_BYTES = 8 * 1024;
export const EXEC_BUDGET_BYTES = EXEC_ARG_MAX_BYTES - RESERVE_BYTES;
const POINTER_BYTES = 8;

/** Longer than any queue ID (queue-id.ts makes about 20 characters). */
const QUEUE_ID_PLACEHOLDER = 'Q'.repeat(64);
/** ${size} / SIZE as digits: a safe integer has at most 16. */
const SIZE_PLACEHOLDER = 10 ** 15;

/** Bytes execve counts for these strings: each with its NUL and its pointer. */
export function execBytes(strings: Iterable<string>): number {
  let total = 0;
  for (const text of strings) total += Buffer.byteLength(text) + 1 + POINTER_BYTES;
  return total;
}

/** What execve counts for argv (program first) and the environment as NAME=value strings. */
export function execBytesOf(program: string, args: readonly string[], env: Readonly<Record<string, string>>): number {
  return execBytes([program, ...args]) + execBytes(Object.entries(env).map(([name, value]) => `${name}=${value}`));
}

/** The session's part of an envelope: known at MAIL FROM, the same at delivery. */
export type EnvelopeBase = Pick<Envelope, 'sender' | 'clientAddress' | 'clientHelo' | 'authUser'>;

export interface ExecBudget {
  /** Counts one more recipient if argv and env stay within EXEC_BUDGET_BYTES; false if not. */
  tryAdd(recipient: string): boolean;
  /** The bytes counted so far (an upper bound of what the program will get). */
  readonly bytes: number;
}

/**
 * Tracks one transaction's argv+env size. The first recipient is sized by the real
 * expansion (queue ID and size at their longest); each further one adds exactly what
 * it adds there: one argv string per `${recipients}` argument and "\n" + itself to
 * RECIPIENTS. `${recipient}` and friends name only the first, and such transports take one.
 */
export function createExecBudget(transport: TransportConfig, base: EnvelopeBase): ExecBudget {
  const perRecipientArgs = transport.program.args.filter((arg) => arg.kind === 'recipients').length;
  let bytes = 0;
  let recipients = 0;
  return {
    get bytes() {
      return bytes;
    },
    tryAdd(recipient) {
      let next: number;
      if (recipients === 0) {
        const envelope: Envelope = {
          ...base,
          recipients: [recipient],
          queueId: QUEUE_ID_PLACEHOLDER,
          size: SIZE_PLACEHOLDER,
          transport: transport.name,
        };
        const { args } = expandArguments(transport.program, envelope);
        next = execBytesOf(transport.program.path, args, programEnvironment(transport, envelope));
      } else {
        const length = Buffer.byteLength(recipient);
        next = bytes + perRecipientArgs * (length + 1 + POINTER_BYTES) + length + 1;
      }
      if (next > EXEC_BUDGET_BYTES) return false;
      bytes = next;
      recipients += 1;
      return true;
    },
  };
}
