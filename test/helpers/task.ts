// DeliveryTasks for worker and pool tests: what the dispatcher would build.
import type { DeliveryTask } from '../../src/pool/task.js';
import { fixture } from './paths.js';

/**
 * A fresh ArrayBuffer, as the dispatcher transfers it: never a pooled Buffer's .buffer,
 * whose transfer would detach the 8 KiB pool other Buffers share.
 */
export function wire(message: string | Buffer): ArrayBuffer {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'latin1') : message;
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/** exit-with.sh on a small message, crlf, no files; `overrides` change the rest. */
export function makeTask(overrides: Partial<DeliveryTask> = {}): DeliveryTask {
  return {
    program: fixture('programs', 'exit-with.sh'),
    args: [],
    env: {},
    header: '',
    message: wire('Subject: test\r\n\r\nbody\r\n'),
    eol: 'crlf',
    bareNewlines: 'reject',
    timeoutMs: 10_000,
    killGraceMs: 1_000,
    outputFile: null,
    outputMode: 0o640,
    errorFile: null,
    errorMode: 0o600,
    runAs: null,
    cwd: null,
    umask: null,
    ...overrides,
  };
}
