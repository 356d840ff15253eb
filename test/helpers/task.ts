// DeliveryTasks for worker and pool tests: what the dispatcher would build, with the
// message in memory (a transferred ArrayBuffer) or spooled (an anonymous file's fd).
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { DeliveryTask, TaskMessage } from '../../src/pool/task.js';
import { fixture } from './paths.js';

/**
 * A fresh ArrayBuffer, as the dispatcher transfers it: never a pooled Buffer's .buffer,
 * whose transfer would detach the 8 KiB pool other Buffers share.
 */
export function wire(message: string | Uint8Array): ArrayBuffer {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'latin1') : message;
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/** A message held in memory: the exact bytes the program reads (latin1 for a string). */
export function inMemory(message: string | Uint8Array): TaskMessage {
  return { kind: 'bytes', bytes: wire(message) };
}

/**
 * A spooled message as the daemon makes one: a 0600 file in `dir`, opened read-write,
 * written, and unlinked at once (as O_TMPFILE would leave it: no name anywhere). The fd
 * is the caller's to close (closeSync) once the tasks using it have settled.
 */
export function spooled(dir: string, message: string | Uint8Array): TaskMessage & { kind: 'file' } {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'latin1') : message;
  const file = path.join(dir, `spool-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(file, 'wx+', 0o600);
  unlinkSync(file);
  try {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return { kind: 'file', fd, size: bytes.length };
}

/** What pool.ts transfers for a task: the ArrayBuffer of a message in memory, nothing else. */
export function transferListOf(task: DeliveryTask): ArrayBuffer[] {
  return task.message.kind === 'bytes' ? [task.message.bytes] : [];
}

/** exit-with.sh on a small message, no files; `overrides` change the rest. */
export function makeTask(overrides: Partial<DeliveryTask> = {}): DeliveryTask {
  return {
    program: fixture('programs', 'exit-with.sh'),
    args: [],
    env: {},
    message: inMemory('Subject: test\r\n\r\nbody\r\n'),
    timeoutMs: 10_000,
    killGraceMs: 1_000,
    outputFile: null,
    outputMode: 0o640,
    errorFile: null,
    errorMode: 0o600,
    runAs: null,
    cwd: null,
    umask: null,
    replyFromOutput: 'none',
    ...overrides,
  };
}
